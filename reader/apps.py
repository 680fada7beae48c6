from django.apps import AppConfig


class ReaderConfig(AppConfig):
    name = "reader"
    verbose_name = "Web reader"

    def ready(self) -> None:
        from django.contrib import admin

        from reader.login import AdminLoginForm

        # /admin/login/ is throttled as /login is (archives.throttle).
        admin.site.login_form = AdminLoginForm
