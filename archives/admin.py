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

from archives import categories
from archives import services
from archives import tankoubons
from archives.config import env_pins
from archives.models import Archive
from archives.models import Category
from archives.models import PluginSetting
from archives.models import ReadingState
from archives.models import ServerConfig
from archives.models import Tag
from archives.models import Tankoubon
from archives.models import TankoubonArchive
from archives.plugins.registry import METADATA_PLUGINS
from archives.tags import normalize_tags
from archives.tasks import regen_thumbnails_enqueue
from archives.tasks import thumbnail_enqueue


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
    fieldsets = [(title, {"fields": list(names)}) for title, names in ServerConfig.GROUPS.items()]

    def get_readonly_fields(self, request: HttpRequest, obj: ServerConfig | None = None) -> list[str]:
        # The environment wins over the row (archives.config): editing a pinned setting changes nothing.
        return sorted(env_pins())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not ServerConfig.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: ServerConfig | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        ServerConfig.objects.get_or_create(pk=1)
        return HttpResponseRedirect(reverse("admin:archives_serverconfig_change", args=[1]))


@admin.action(description="Remake the covers of the selected archives")
def remake_covers(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Archive]) -> None:
    count = 0
    for arcid in queryset.values_list("pk", flat=True):
        thumbnail_enqueue(arcid=arcid)
        count += 1
    modeladmin.message_user(request, f"Queued {count} cover job(s); see Background jobs for their progress.")


@admin.action(description="Regenerate missing thumbnails of the whole library")
def regenerate_all(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Archive]) -> None:
    job = regen_thumbnails_enqueue(force=False)
    modeladmin.message_user(request, f"Queued job #{job.pk}; its progress shows under Background jobs.")


ArchiveAdmin.actions = [remake_covers, regenerate_all]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    fields = ["name", "search", "pinned", "id"]
    list_display = ["name", "id", "kind", "pinned", "size"]
    search_fields = ["name", "=id"]
    readonly_fields = ["id"]

    @admin.display(description="type")
    def kind(self, obj: Category) -> str:
        return "dynamic" if obj.is_dynamic else "static"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        # One count for the whole list page, not a query per row.
        return super().get_queryset(request).annotate(n_items=Count("items"))

    @admin.display(description="members", ordering="n_items")
    def size(self, obj: Category) -> int:
        return obj.n_items

    def save_model(self, request: HttpRequest, obj: Category, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            categories.category_update(catid=obj.pk, name=data["name"], search=data["search"], pinned=data["pinned"])
        else:
            created = categories.category_create(name=data["name"], search=data["search"], pinned=data["pinned"])
            obj.pk = created.pk

    def delete_model(self, request: HttpRequest, obj: Category) -> None:
        categories.category_delete(catid=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Category]) -> None:
        for catid in queryset.values_list("pk", flat=True):
            categories.category_delete(catid=catid)


class TankMemberInline(admin.TabularInline):
    model = TankoubonArchive
    fields = ["position", "archive"]
    readonly_fields = ["position", "archive"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # members are set over the API or in the web editor, which keep tanks consistent


@admin.register(Tankoubon)
class TankoubonAdmin(admin.ModelAdmin):
    fields = ["name", "summary", "tags"]
    list_display = ["name", "id", "progress"]
    search_fields = ["name", "=id", "tags"]
    inlines = [TankMemberInline]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Tankoubon, form: Any, change: bool) -> None:
        data = form.cleaned_data
        tankoubons.tank_update(
            tank_id=obj.pk,
            archives=None,
            metadata={"name": data["name"], "summary": data["summary"], "tags": data["tags"]},
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None  # members are read-only here

    def delete_model(self, request: HttpRequest, obj: Tankoubon) -> None:
        tankoubons.tank_delete(tank_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Tankoubon]) -> None:
        for tank_id in queryset.values_list("pk", flat=True):
            tankoubons.tank_delete(tank_id=tank_id)


class PluginSettingForm(forms.ModelForm):
    namespace = forms.ChoiceField(choices=[])

    class Meta:
        model = PluginSetting
        fields = ["namespace", "enabled", "params"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["namespace"].choices = [(p.info.namespace, p.info.name) for p in METADATA_PLUGINS]
        self.fields["params"].help_text = 'Parameter values by name, e.g. {"keep_all_captures": "1"}.'


@admin.register(PluginSetting)
class PluginSettingAdmin(admin.ModelAdmin):
    form = PluginSettingForm
    list_display = ["namespace", "enabled"]
    list_editable = ["enabled"]
