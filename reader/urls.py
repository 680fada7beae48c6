"""The web pages. `/reader?id=<id>` is stored by Mihon for every manga: keep it."""

from django.urls import path

from reader.views import admin
from reader.views import auth
from reader.views import editing
from reader.views import library
from reader.views import reading

urlpatterns = [
    path("", library.library, name="library"),
    path("random", library.random_pick, name="random"),
    path("reader", reading.reader, name="reader"),
    path("upload", editing.upload, name="upload"),
    path("edit", editing.edit, name="edit"),
    path("batch", editing.batch, name="batch"),
    path("categories", editing.categories, name="categories"),
    path("settings", admin.settings_page, name="settings"),
    path("jobs", admin.jobs, name="jobs"),
    path("login", auth.Login.as_view(), name="login"),
    path("logout", auth.logout, name="logout"),
]
