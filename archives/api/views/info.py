"""Server information and database-wide switches."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from rest_framework.request import Request

from archives import services
from archives.api.base import ApiView
from archives.api.render import json_response
from archives.api.responses import envelope
from archives.api.responses import xml_escape
from archives.config import get_config
from archives.models import ServerCounters
from archives.search.cache import cache_last_cleared
from archives.search.selectors import records_total

LRR_VERSION_DESC = "I'm under Japanese influence and my honor's at stake!"


class InfoView(ApiView):
    def get(self, request: Request) -> HttpResponse:
        config = get_config()
        return json_response(
            {
                "name": xml_escape(config.name),
                "motd": xml_escape(config.motd),
                "version": settings.HONDANA_LRR_VERSION,
                "version_name": settings.HONDANA_LRR_VERSION_NAME,
                # The reference release's own text (behavior.md §11); `name` says which server this is.
                "version_desc": LRR_VERSION_DESC,
                "has_password": config.enablepass,
                "debug_mode": settings.DEBUG,
                "nofun_mode": config.nofunmode,
                "server_resizes_images": config.enableresize,
                "server_tracks_progress": config.server_tracks_progress,
                "authenticated_progress": config.authprogress,
                "archives_per_page": config.archives_per_page,
                "total_pages_read": ServerCounters.current().total_pages_read,
                "total_archives": records_total(grouped=True),
                "cache_last_cleared": cache_last_cleared(),
                "excluded_namespaces": config.excluded_namespace_list,
            }
        )


class ClearAllNewView(ApiView):
    protected = frozenset({"DELETE"})
    operations = {"DELETE": "clear_new_all"}

    def delete(self, request: Request) -> HttpResponse:
        services.archives_clear_new()
        return envelope("clear_new_all", message="All archives are no longer new!")
