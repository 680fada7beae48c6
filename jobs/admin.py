from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from jobs.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # generic only in django-stubs, not at runtime
    list_display = ["id", "task", "state", "progress", "created", "started", "finished", "retries"]
    list_filter = ["state", "task"]
    search_fields = ["=id", "task", "args"]
    readonly_fields = [f.name for f in Job._meta.fields]
    list_per_page = 100
    show_full_result_count = False

    @admin.display(description="progress")
    def progress(self, job: Job) -> str:
        notes = job.notes or {}
        if "total_pages" in notes:
            done = sum(1 for k, v in notes.items() if k.isdigit() and v == "processed")
            return f"{done}/{notes['total_pages']} pages"
        if "total" in notes:
            return f"{notes.get('done', 0)}/{notes['total']}"
        return ""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False
