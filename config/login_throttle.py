"""Throttled login on every path that authenticates (the pages' login, admin's login): after
LOGIN_FAILURE_LIMIT failed logins for one username from one client address within
LOGIN_FAILURE_WINDOW seconds, that pair is refused until the window ends. The counts live in the
cache (Redis in production, so every gunicorn worker shares them)."""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import user_login_failed
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse


def client_address(request: HttpRequest | None) -> str:
    """The address nginx saw (the last X-Forwarded-For entry, which nginx appends) behind the
    proxy; the socket's peer otherwise."""
    if request is None:
        return "-"
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.BEHIND_PROXY and forwarded:
        return forwarded.split(",")[-1].strip()
    return str(request.META.get("REMOTE_ADDR", "-"))


def refused_for(request: HttpRequest | None) -> int:
    """Seconds the backend told this request to wait (0: it was not refused)."""
    return int(vars(request).get("login_retry_after", 0)) if request is not None else 0


def _key(request: HttpRequest | None, username: str | None) -> str:
    pair = f"{(username or '').strip().lower()}\0{client_address(request)}"
    return "login-failures:" + hashlib.sha256(pair.encode()).hexdigest()


def retry_after(request: HttpRequest | None, username: str | None) -> int:
    """Seconds until this username may try again from this address; 0 when it may now."""
    record = cache.get(_key(request, username))
    if not record or record["count"] < settings.LOGIN_FAILURE_LIMIT:
        return 0
    return max(0, math.ceil(record["until"] - time.time()))


@receiver(user_login_failed)
def _count_failure(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **_: Any) -> None:
    if refused_for(request):
        return  # a refused attempt is not a new failure: the window does not move
    key = _key(request, credentials.get("username"))
    record = cache.get(key) or {"count": 0, "until": time.time() + settings.LOGIN_FAILURE_WINDOW}
    record["count"] += 1
    cache.set(key, record, timeout=max(1, math.ceil(record["until"] - time.time())))


class ThrottledModelBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        wait = retry_after(request, username)
        if wait:
            if request is not None:
                request.login_retry_after = wait  # type: ignore[attr-defined]
            raise PermissionDenied("too many failed logins")  # authenticate() stops at the first backend
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            cache.delete(_key(request, username))
        return user


class ThrottleMessageMixin:
    """Say that the login is throttled (and for how long) instead of 'wrong password'."""

    request: HttpRequest | None

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()  # type: ignore[misc]
        except ValidationError:
            wait = refused_for(self.request)
            if wait:
                raise ValidationError(
                    f"Too many failed logins. Try again in {math.ceil(wait / 60)} minute(s) "
                    "(LOGIN_FAILURE_LIMIT, LOGIN_FAILURE_WINDOW).",
                    code="throttled",
                ) from None
            raise


class ThrottledAuthenticationForm(ThrottleMessageMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottleMessageMixin, AdminAuthenticationForm):
    pass


class ThrottledLoginView(LoginView):
    """The pages' login: a throttled attempt answers 429 with Retry-After."""

    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        wait = refused_for(self.request)
        if wait:
            response.status_code = 429
            response["Retry-After"] = str(wait)
        return response
