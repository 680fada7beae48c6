"""The API index: one path per LANraragi endpoint, named after its operationId."""

from django.urls import path
from django.urls import re_path

from archives.api.views import archives as archive_views
from archives.api.views import categories
from archives.api.views import database
from archives.api.views import downloads
from archives.api.views import info
from archives.api.views import opds
from archives.api.views import openapi
from archives.api.views import pages
from archives.api.views import plugins
from archives.api.views import search
from archives.api.views import shinobu
from archives.api.views import stamps
from archives.api.views import tankoubons
from archives.api.views import thumbnails
from archives.api.views import toc
from archives.api.views import upload

urlpatterns = [
    # Hondana's own: the OpenAPI document of every route in this table (archives/api/openapi/).
    path("openapi.json", openapi.DocumentView.as_view(), name="getOpenApiDocument"),
    path("info", info.InfoView.as_view(), name="serverInfo"),
    path("archives", archive_views.ArchiveListView.as_view(), name="getArchiveList"),
    path("archives/untagged", archive_views.UntaggedView.as_view(), name="getUntaggedArchives"),
    path("archives/upload", upload.UploadView.as_view(), name="uploadArchive"),
    path("archives/<str:id>", archive_views.ArchiveView.as_view(), name="getArchive"),
    path("archives/<str:id>/metadata", archive_views.MetadataView.as_view(), name="getArchiveMetadata"),
    path("archives/<str:id>/download", archive_views.DownloadView.as_view(), name="downloadArchive"),
    path("archives/<str:id>/isnew", archive_views.NewFlagView.as_view(), name="clearNewArchive"),
    path("archives/<str:id>/files", pages.FilesView.as_view(), name="getArchiveFiles"),
    path("archives/<str:id>/page", pages.PageView.as_view(), name="getPage"),
    # A page number with a dot does not route in LANraragi either (404, not 400).
    re_path(
        r"^archives/(?P<id>[^/]+)/progress/(?P<page>[^/.]+)$",
        pages.ProgressView.as_view(),
        name="updateArchiveProgress",
    ),
    path("archives/<str:id>/thumbnail", thumbnails.ThumbnailView.as_view(), name="getArchiveThumbnail"),
    path("archives/<str:id>/files/thumbnails", thumbnails.PageThumbnailsView.as_view(), name="generatePageThumbnails"),
    path("regen_thumbs", thumbnails.RegenerateView.as_view(), name="regenerateThumbnails"),
    path("tankoubons/<str:id>/thumbnail", thumbnails.TankThumbnailView.as_view(), name="getTankoubonThumbnail"),
    re_path(
        r"^tankoubons/(?P<id>[^/]+)/progress/(?P<page>[^/.]+)$",
        pages.TankProgressView.as_view(),
        name="updateTankoubonProgress",
    ),
    path("tempfolder", pages.TempFolderView.as_view(), name="cleanTempFolder"),
    path("database/isnew", info.ClearAllNewView.as_view(), name="clearAllNew"),
    path("archives/<str:id>/toc", toc.TocView.as_view(), name="addArchiveToc"),
    path("archives/<str:id>/categories", categories.ArchiveCategoriesView.as_view(), name="getArchiveCategories"),
    path("archives/<str:id>/tankoubons", tankoubons.ArchiveTanksView.as_view(), name="getArchiveTankoubons"),
    path("search", search.SearchView.as_view(), name="searchArchives"),
    path("search/ids", search.SearchIdsView.as_view(), name="searchArchiveIds"),
    path("search/random", search.RandomView.as_view(), name="searchRandomArchives"),
    path("search/cache", search.SearchCacheView.as_view(), name="discardSearchCache"),
    path("categories", categories.CategoryListView.as_view(), name="getCategoryList"),
    path("categories/bookmark_link", categories.BookmarkView.as_view(), name="getBookmarkLink"),
    path("categories/bookmark_link/<str:id>", categories.BookmarkSetView.as_view(), name="updateBookmarkLink"),
    path("categories/<str:id>", categories.CategoryView.as_view(), name="getCategory"),
    path("categories/<str:id>/<str:archive>", categories.CategoryMemberView.as_view(), name="addToCategory"),
    path("tankoubons", tankoubons.TankListView.as_view(), name="getTankoubonList"),
    path("tankoubons/<str:id>", tankoubons.TankView.as_view(), name="getTankoubon"),
    path("tankoubons/<str:id>/full", tankoubons.TankFullView.as_view(), name="getTankoubonFull"),
    # Not `thumbnail` or `progress`: those routes belong to the thumbnail and reading views.
    re_path(
        r"^tankoubons/(?P<id>[^/]+)/(?P<archive>(?!thumbnail$|full$)[^/]+)$",
        tankoubons.TankMemberView.as_view(),
        name="addToTankoubon",
    ),
    path("database/stats", database.StatsView.as_view(), name="getStatistics"),
    path("database/backup", database.BackupView.as_view(), name="getBackupJson"),
    path("database/backup/<str:jobid>", database.BackupDownloadView.as_view(), name="downloadBackup"),
    path("database/restore", database.RestoreView.as_view(), name="queueRestoreJob"),
    path("database/clean", database.CleanView.as_view(), name="cleanDatabase"),
    path("database/drop", database.DropView.as_view(), name="dropDatabase"),
    path("archives/<str:id>/stamps", stamps.StampedPagesView.as_view(), name="stampedPages"),
    path("archives/<str:id>/stamps/<str:index>", stamps.PageStampsView.as_view(), name="stampsByPage"),
    path("stamps/<str:id>", stamps.StampView.as_view(), name="getStamp"),
    path("opds", opds.CatalogView.as_view(), name="getOpdsCatalog"),
    path("opds/<str:id>", opds.EntryView.as_view(), name="getOpdsItem"),
    path("opds/<str:id>/pse", opds.PageStreamView.as_view(), name="getOpdsPage"),
    path("plugins/use", plugins.PluginUseView.as_view(), name="usePluginSync"),
    path("plugins/queue", plugins.PluginQueueView.as_view(), name="usePluginAsync"),
    path("plugins/<str:type>", plugins.PluginListView.as_view(), name="listPlugins"),
    path("download_url", downloads.DownloadUrlView.as_view(), name="downloadUrl"),
    path("shinobu", shinobu.StatusView.as_view(), name="shinobuStatus"),
    path("shinobu/stop", shinobu.StopView.as_view(), name="shinobuStop"),
    path("shinobu/restart", shinobu.RestartView.as_view(), name="shinobuRestart"),
    path("shinobu/rescan", shinobu.RescanView.as_view(), name="shinobuRescan"),
]
