"""The login forms of /login and /admin/login/, throttled (archives.throttle).

A user name or client address that reached its limit of wrong passwords is refused
before the password is looked at, so refused attempts cost no hashing. Both forms
are AuthenticationForm underneath: the rest of the login is Django's.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from archives import throttle


class ThrottledLoginMixin:
    """For an AuthenticationForm: `throttled` is the seconds to wait when refused."""

    request: Any
    cleaned_data: dict[str, Any]
    user_cache: Any
    throttled: int | None = None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password or self.request is None:
            return super().clean()  # type: ignore[misc,no-any-return]  # no password is checked
        wait = throttle.login_refused(self.request, username)
        if wait is not None:
            self.throttled = wait
            raise ValidationError(self.throttled_message, code="throttled")
        try:
            cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        except ValidationError:
            # A right password refused for another reason (an inactive account, a
            # non-staff user on the admin) is no guess.
            if self.user_cache is None:
                throttle.login_failed(self.request, username)
            raise
        throttle.login_succeeded(username)
        return cleaned

    @property
    def throttled_message(self) -> str:
        wait = throttle.wait_text(self.throttled or 0)
        return f"Too many wrong passwords for this user name or from this address. Try again in {wait}."


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass
