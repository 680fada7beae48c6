"""Response headers that depend on the request or the kind of response.

Django's settings cover what is the same on every response (nosniff, Referrer-Policy,
COOP, X-Frame-Options). Two things are not:

* The Secure flag of cookies. A self-hosted server is often reached over plain HTTP on
  the LAN and over HTTPS through a proxy at the same time, so SESSION_COOKIE_SECURE
  can't be a constant (it would break LAN logins). Cookies set in reply to a request
  that came over TLS, directly or as SECURE_PROXY_SSL_HEADER says, get it per request.
* The Content-Security-Policy (SECURE_CSP) describes the web pages. It goes on HTML
  responses only: the API's JSON, images, XML and archive downloads are read by
  clients, not rendered as pages, and a policy on them could only get in the way
  (a PDF download opened in a browser tab, say).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.http import HttpResponse
from django.middleware.csp import ContentSecurityPolicyMiddleware


class SecureCookiesMiddleware:
    """Marks every cookie of a response to an HTTPS request Secure.

    It must come before SessionMiddleware and CsrfViewMiddleware in MIDDLEWARE so
    that it sees the cookies they set on the way out. The messages cookie is covered
    too (it carries message text). Over plain HTTP cookies keep the static settings
    (SESSION_COOKIE_SECURE, CSRF_COOKIE_SECURE, True with HONDANA_HTTPS_ONLY).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.is_secure():
            for morsel in response.cookies.values():
                morsel["secure"] = True
        return response


class PageContentSecurityPolicyMiddleware(ContentSecurityPolicyMiddleware):
    """Django's CSP middleware (SECURE_CSP, SECURE_CSP_REPORT_ONLY, the nonce and the
    csp_override decorators all work as documented), limited to HTML responses."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        return super().process_response(request, response)
