from django.urls import path

from jobs.api import views

urlpatterns = [
    path("<str:jobid>", views.JobStatusView.as_view(), name="minionJobStatus"),
    path("<str:jobid>/detail", views.JobDetailView.as_view(), name="minionJobDetail"),
    path("<str:jobname>/queue", views.QueueJobView.as_view(), name="queueMinionJob"),
]
