"""Server settings (staff) and the jobs list (members)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest
from django.http import HttpResponse
from django.shortcuts import redirect
from django.shortcuts import render

from archives.models import ServerConfig
from reader import selectors
from reader.access import member_page
from reader.access import staff_page
from reader.forms import PluginsForm
from reader.forms import SettingsForm


@staff_page
def settings_page(request: HttpRequest) -> HttpResponse:
    row, _ = ServerConfig.objects.get_or_create(pk=1)
    form = SettingsForm(request.POST or None, instance=row)
    plugins = PluginsForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and plugins.is_valid():
        form.save()  # ServerConfig.save() tells archives.config that the settings changed
        plugins.save()
        messages.success(request, "Settings saved.")
        return redirect("settings")
    return render(request, "reader/settings.html", {"form": form, "plugins": plugins})


@member_page
def jobs(request: HttpRequest) -> HttpResponse:
    overview = selectors.jobs_overview()
    return render(request, "reader/jobs.html", overview)
