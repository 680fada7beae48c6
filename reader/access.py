"""Who may see which web page: the API's rules, applied to HTML.

A visitor counts as a member (may edit, upload, manage categories, see jobs) when
logged in, or when password protection is off, which opens everything as it does
for the API. No-Fun mode puts every page behind that, reading included. Settings
always need a logged-in staff user: it is where password protection is turned back
on, so it must never be open.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http import HttpResponse

from archives.config import get_config

View = Callable[..., HttpResponse]


def is_member(request: HttpRequest) -> bool:
    return request.user.is_authenticated or not get_config().enablepass


def may_read(request: HttpRequest) -> bool:
    return not get_config().nofunmode or is_member(request)


def public_page(view: View) -> View:
    """Open to anyone, except in No-Fun mode."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not may_read(request):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped


def member_page(view: View) -> View:
    """Editing, uploading, categories and jobs."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_member(request):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped


def staff_page(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied("Server settings are for the admin.")
        return view(request, *args, **kwargs)

    return wrapped
