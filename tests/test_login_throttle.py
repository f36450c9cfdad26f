"""config.login_throttle: failed logins are counted per username and address on every login path
(the pages' and admin's), refused with a message and 429 past the limit, and forgotten on success
or when the window ends."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counts() -> Iterator[None]:
    cache.clear()
    with override_settings(LOGIN_FAILURE_LIMIT=3, LOGIN_FAILURE_WINDOW=60):
        yield
    cache.clear()


@pytest.fixture
def alice() -> User:
    return User.objects.create_user("alice", password="right-password-1", is_staff=True)


def _login(client: Client, password: str, path: str = "/accounts/login/", **extra: str) -> Any:
    return client.post(path, {"username": "alice", "password": password}, **extra)  # type: ignore[arg-type]


def test_the_right_password_is_refused_after_too_many_failures(alice: User) -> None:
    client = Client()
    for _ in range(3):
        assert _login(client, "wrong").status_code == 200  # the form again, "enter a correct username"
    refused = _login(client, "right-password-1")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "Too many failed logins. Try again in 1 minute(s)" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_admin_login_is_throttled_too(alice: User) -> None:
    client = Client()
    for _ in range(3):
        _login(client, "wrong", "/admin/login/")
    page = _login(client, "right-password-1", "/admin/login/")
    assert "Too many failed logins" in page.content.decode()
    assert "_auth_user_id" not in client.session


def test_other_addresses_and_other_users_are_not_locked_out(alice: User) -> None:
    User.objects.create_user("bob", password="bobs-password-1")
    for _ in range(3):
        _login(Client(), "wrong", REMOTE_ADDR="10.0.0.1")
    assert _login(Client(), "right-password-1", REMOTE_ADDR="10.0.0.2").status_code == 302
    bob = Client().post("/accounts/login/", {"username": "bob", "password": "bobs-password-1"}, REMOTE_ADDR="10.0.0.1")
    assert bob.status_code == 302


def test_behind_the_proxy_the_address_is_the_one_nginx_saw(alice: User) -> None:
    with override_settings(BEHIND_PROXY=True):
        for _ in range(3):  # a client cannot escape by forging the left part of X-Forwarded-For
            _login(Client(), "wrong", HTTP_X_FORWARDED_FOR=f"1.2.3.{time.monotonic_ns() % 250}, 10.9.9.9")
        assert _login(Client(), "right-password-1", HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429
        assert _login(Client(), "right-password-1", HTTP_X_FORWARDED_FOR="10.9.9.8").status_code == 302


def test_a_success_forgets_earlier_failures(alice: User) -> None:
    client = Client()
    for _ in range(2):
        _login(client, "wrong")
    assert _login(client, "right-password-1").status_code == 302
    client.logout()
    for _ in range(2):
        _login(client, "wrong")
    assert _login(client, "right-password-1").status_code == 302  # 4 failures, never 3 in a row


def test_the_window_ends(alice: User) -> None:
    with override_settings(LOGIN_FAILURE_WINDOW=1):
        for _ in range(3):
            _login(Client(), "wrong")
        assert _login(Client(), "right-password-1").status_code == 429
        time.sleep(1.2)
        assert _login(Client(), "right-password-1").status_code == 302
