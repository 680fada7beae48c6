"""The base of every API view: LANraragi's auth rules and error shapes."""

from __future__ import annotations

from typing import Any
from typing import ClassVar

from django.middleware.csrf import CsrfViewMiddleware
from rest_framework.request import Request
from rest_framework.views import APIView

from archives.api import params
from archives.api.auth import authenticate
from archives.api.auth import key_matches
from archives.api.errors import ApiError
from archives.api.errors import NotAuthenticated
from archives.api.render import json_response

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request: Any, reason: str) -> Any:
        return reason


class ApiView(APIView):
    """Subclasses list their protected (🔑) methods and their LANraragi operation names."""

    protected: ClassVar[frozenset[str]] = frozenset()
    operations: ClassVar[dict[str, str]] = {}

    def perform_authentication(self, request: Request) -> None:
        # DRF would replace the session user with its anonymous user; auth here is
        # LANraragi's and is decided in check_permissions.
        return None

    def check_permissions(self, request: Request) -> None:
        if request.method not in self.protected:
            return
        method = authenticate(request._request)
        if method is None:
            # `key` may also come in a form body.
            key = params.raw_param(request, "key")
            if key and key_matches(request._request, key):
                method = "key"
        if method is None:
            raise NotAuthenticated()
        if method == "session" and request.method not in SAFE_METHODS:
            # A browser session writing needs the CSRF token; API keys do not.
            reason = _CsrfCheck(lambda r: None).process_view(request._request, None, (), {})
            if reason is not None:
                raise ApiError(
                    json_response(
                        {"errors": [{"message": f"CSRF check failed: {reason}", "path": "/"}], "status": 403}, 403
                    )
                )

    def arcid(self, value: str) -> str:
        return params.arcid(value)
