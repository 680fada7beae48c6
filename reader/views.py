from django.http import HttpRequest
from django.http import HttpResponse
from django.shortcuts import render

from archives.models import Archive


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "reader/home.html", {"archive_count": Archive.objects.present().count()})
