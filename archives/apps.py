from django.apps import AppConfig


class ArchivesConfig(AppConfig):
    name = "archives"
    verbose_name = "Archives"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from archives import checks  # noqa: F401  (registers system checks)
        from archives import watcher  # noqa: F401  (starts the file watcher in Celery workers)
        from archives.config import connect_signals

        connect_signals()
