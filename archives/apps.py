from django.apps import AppConfig


class ArchivesConfig(AppConfig):
    name = "archives"
    verbose_name = "Archives"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from archives import checks  # noqa: F401  (registers system checks)
        from archives import watcher  # noqa: F401  (starts the file watcher in Celery workers)
        from archives.config import connect_signals
        from archives.config import env_pin_errors

        connect_signals()
        env_pin_errors()  # parses the HONDANA_<FIELD> pins once, at start; archives.checks reports bad ones
