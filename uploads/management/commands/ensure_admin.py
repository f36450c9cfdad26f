"""`manage.py ensure_admin`: make sure an admin login exists and print it (for `make run`)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Create the superuser USERNAME with a random password unless it exists; print the login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--login-file", default=str(Path(settings.BASE_DIR) / "var" / "admin-login.txt"))

    def handle(self, *args: Any, **options: Any) -> None:
        login_file = Path(options["login_file"])
        user_model = get_user_model()
        username = options["username"]
        if user_model.objects.filter(username=username).exists() and login_file.exists():
            self.stdout.write(f"admin login: {login_file.read_text().strip()}")
            return
        password = secrets.token_urlsafe(12)
        user, _ = user_model.objects.get_or_create(username=username, defaults={"is_staff": True, "is_superuser": True})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        login_file.parent.mkdir(parents=True, exist_ok=True)
        login_file.write_text(f"user {username} password {password}\n")
        login_file.chmod(0o600)
        self.stdout.write(f"admin login: user {username} password {password}")
