"""The Celery application. Tasks are declared in each app's tasks.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Every task is a jobs.base.JobTask: it claims its Job row before it runs.
app = Celery("hondana", task_cls="jobs.base:JobTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
