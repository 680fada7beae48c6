from django.contrib import admin
from django.urls import include
from django.urls import path

urlpatterns = [
    path("api/minion/", include("jobs.api.urls")),
    path("api/", include("archives.api.urls")),
    path("admin/", admin.site.urls),
    path("", include("reader.urls")),
]
