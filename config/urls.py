from django.contrib import admin
from django.urls import include
from django.urls import path

from archives.api.views.search import DataTablesView

urlpatterns = [
    path("api/minion/", include("jobs.api.urls")),
    path("api/", include("archives.api.urls")),
    # LANraragi's undocumented DataTables search (behavior.md §1, §10); /api/search is the documented one.
    path("search", DataTablesView.as_view(), name="searchDataTables"),
    path("admin/", admin.site.urls),
    path("", include("reader.urls")),
]
