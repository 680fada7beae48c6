"""The API index: one path per LANraragi endpoint, named after its operationId."""

from django.urls import path

from archives.api.views import archives as archive_views
from archives.api.views import info
from archives.api.views import upload

urlpatterns = [
    path("info", info.InfoView.as_view(), name="serverInfo"),
    path("archives", archive_views.ArchiveListView.as_view(), name="getArchiveList"),
    path("archives/untagged", archive_views.UntaggedView.as_view(), name="getUntaggedArchives"),
    path("archives/upload", upload.UploadView.as_view(), name="uploadArchive"),
    path("archives/<str:id>", archive_views.ArchiveView.as_view(), name="getArchive"),
    path("archives/<str:id>/metadata", archive_views.MetadataView.as_view(), name="getArchiveMetadata"),
    path("archives/<str:id>/download", archive_views.DownloadView.as_view(), name="downloadArchive"),
    path("archives/<str:id>/isnew", archive_views.NewFlagView.as_view(), name="clearNewArchive"),
    path("database/isnew", info.ClearAllNewView.as_view(), name="clearAllNew"),
]
