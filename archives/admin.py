"""Admin for archives, tags and server settings; usable on a 100,000-archive library."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.db.models import QuerySet
from django.http import HttpRequest
from django.http import HttpResponseRedirect
from django.urls import reverse

from archives import services
from archives.models import Archive
from archives.models import ReadingState
from archives.models import ServerConfig
from archives.models import Tag
from archives.tags import normalize_tags


class ArchiveForm(forms.ModelForm):
    isnew = forms.BooleanField(label="New", required=False)

    class Meta:
        model = Archive
        fields = ["title", "tags", "summary"]
        widgets = {"title": forms.TextInput(attrs={"size": 80}), "tags": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            state = ReadingState.objects.filter(archive=self.instance, user__isnull=True).first()
            self.fields["isnew"].initial = state.isnew if state else True


@admin.register(Archive)
class ArchiveAdmin(admin.ModelAdmin):
    form = ArchiveForm
    list_display = ["title", "extension", "pagecount", "size", "created_at"]
    list_filter = ["extension", "missing"]
    search_fields = ["title", "tags", "=id"]
    readonly_fields = ["id", "filename", "extension", "file", "format", "pagecount", "size", "created_at", "updated_at"]
    list_per_page = 100
    # COUNT(*) over a large table on every page load is the slow part of big changelists.
    show_full_result_count = False
    ordering = ["-created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # archives arrive by upload or scan, with their file

    def save_model(self, request: HttpRequest, obj: Archive, form: Any, change: bool) -> None:
        services.archive_update_metadata(
            arcid=obj.pk,
            title=form.cleaned_data["title"],
            tags=form.cleaned_data["tags"],
            summary=form.cleaned_data["summary"],
        )
        services.archive_set_new(arcid=obj.pk, isnew=form.cleaned_data["isnew"])

    def delete_model(self, request: HttpRequest, obj: Archive) -> None:
        services.archive_delete(arcid=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Archive]) -> None:
        for arcid in queryset.values_list("pk", flat=True):
            services.archive_delete(arcid=arcid)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "namespace", "weight"]
    search_fields = ["name"]
    list_filter = ["namespace"]
    list_per_page = 200
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        return super().get_queryset(request).annotate(weight=Count("archive_links"))

    @admin.display(ordering="weight")
    def weight(self, obj: Tag) -> int:
        return obj.weight  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tags are created by tagging archives

    def has_change_permission(self, request: HttpRequest, obj: Tag | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Tag) -> None:
        self.delete_queryset(request, Tag.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Tag]) -> None:
        """Deleting a tag removes it from every archive's tag string too."""
        names = set(queryset.values_list("name", flat=True))
        affected = Archive.objects.filter(tag_links__tag__in=queryset).distinct().values_list("pk", "tags")
        for arcid, tags in list(affected):
            kept = [t for t in normalize_tags(tags) if t.lower() not in names]
            services.archive_update_metadata(arcid=arcid, tags=",".join(kept))
        queryset.delete()


@admin.register(ServerConfig)
class ServerConfigAdmin(admin.ModelAdmin):
    fieldsets = [
        (None, {"fields": ["name", "motd", "archives_per_page"]}),
        ("Access", {"fields": ["enablepass", "nofunmode", "enablecors"]}),
        ("Reading progress", {"fields": ["localprogress", "authprogress"]}),
        ("Uploads and tags", {"fields": ["usedateadded", "usedatemodified", "replacedupe", "excluded_namespaces"]}),
        ("Reader", {"fields": ["tempmaxsize", "enableresize", "sizethreshold", "readerquality"]}),
        ("Thumbnails", {"fields": ["pagethumbnails", "hqthumbpages", "pagethumb_max_pages"]}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not ServerConfig.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: ServerConfig | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        ServerConfig.objects.get_or_create(pk=1)
        return HttpResponseRedirect(reverse("admin:archives_serverconfig_change", args=[1]))
