"""Log in and out of the web pages (the session also counts as API auth)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.views import LoginView
from django.http import HttpRequest
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from reader.login import LoginForm


class Login(LoginView):
    template_name = "reader/login.html"
    redirect_authenticated_user = True
    authentication_form = LoginForm

    def get_initial(self) -> dict[str, Any]:
        return {**super().get_initial(), "username": settings.HONDANA_ADMIN_USER}

    def get_form(self, form_class: Any = None) -> Any:
        form = super().get_form(form_class)
        # The user name is filled in already: the password is what is typed next.
        form.fields["username"].widget.attrs.pop("autofocus", None)
        form.fields["password"].widget.attrs["autofocus"] = True
        return form

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        if form.throttled is not None:
            # Refused unchecked (reader.login): the page says for how long, and so does 429.
            response.status_code = 429
            response["Retry-After"] = str(form.throttled)
        return response


@require_http_methods(["GET", "POST"])
def logout(request: HttpRequest) -> HttpResponse:
    # GET too, as LANraragi's /logout: clients and bookmarks open it as a link.
    auth_logout(request)
    return redirect("library")
