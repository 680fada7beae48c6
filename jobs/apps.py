from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Background jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from config.celery import app
        from jobs import signals  # noqa: F401  (connects the Celery signal handlers)

        # Register every app's tasks in web processes too, so that publishing goes
        # through the task objects (and honours task_always_eager).
        app.autodiscover_tasks(force=True)
