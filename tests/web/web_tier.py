"""The compose web tier on this machine for tests/web/test_nginx.py: Debian's nginx with the server block
rendered by deploy/nginx/render.sh, in front of the project's gunicorn (config/gunicorn.py) running
production settings on the test database, media and broker; and a small HTTP client with cookies."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import connection

from tests.conftest import ARTIFACTS, ROOT, stop_group
from tests.stack import free_port

NGINX = "/usr/sbin/nginx"
DEPLOY = ROOT / "deploy" / "nginx"
SECRET_KEY = "web-tier-test-only-" + "k3y-" * 10  # 50+ characters, as production settings require
COLLECT = (
    "import django; django.setup(); from django.conf import settings; from django.core.management import "
    "call_command; call_command('collectstatic', interactive=False, verbosity=0); print(settings.STATIC_ROOT)"
)
MAIN_CONF = """{user}daemon off;
pid {tmp}/nginx.pid;
error_log {logs}/nginx-error.log info;
events {{}}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    log_format timed '$remote_addr "$request" $status $body_bytes_sent $request_time $upstream_response_time';
    access_log {logs}/nginx-access.log timed;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {server};
}}
"""


def database_url() -> str:
    """The URL of the very database pytest-django created, for a process with production settings."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def production_env(upload_max_bytes: int) -> dict[str, str]:
    """What compose gives web, pointed at this test session's database, broker and media; plain http."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain http on loopback
        "DJANGO_SECURE_COOKIES": "false",
        "DJANGO_SECURE_HSTS_SECONDS": "0",
        "DJANGO_BEHIND_PROXY": "true",
        "DJANGO_MEDIA_DELIVERY": "x-accel",
        "DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "UPLOAD_MAX_BYTES": str(upload_max_bytes),
    }


@dataclass
class WebTier:
    """nginx on `port` in front of gunicorn on `gunicorn_port`; logs in test-artifacts/."""

    tmp: Path
    upload_max_bytes: int
    port: int = field(default_factory=free_port)
    gunicorn_port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    gunicorn_log: Path = ARTIFACTS / "gunicorn.log"
    nginx_access_log: Path = ARTIFACTS / "nginx-access.log"

    def start(self) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        for log in (self.gunicorn_log, self.nginx_access_log, ARTIFACTS / "nginx-error.log"):
            log.unlink(missing_ok=True)
        env = production_env(self.upload_max_bytes)
        # As the image's build does: collectstatic into STATIC_ROOT (<repo>/staticfiles/, git-ignored),
        # whose manifest gunicorn's {% static %} needs and whose files nginx serves at /static/.
        collected = subprocess.run(
            [sys.executable, "-c", COLLECT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert collected.returncode == 0, collected.stderr
        self.static_root = Path(collected.stdout.strip().splitlines()[-1])
        env["GUNICORN_BIND"], env["GUNICORN_WORKERS"] = f"127.0.0.1:{self.gunicorn_port}", "2"
        with self.gunicorn_log.open("wb") as out:
            self._spawn([sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application"],
                        env=env, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        self._wait_for(self.gunicorn_port, "gunicorn")
        self.server_conf = self.tmp / "mediapipe.conf"
        self.render(self.server_conf)
        main = self.tmp / "nginx.conf"
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the 0700 test media folder
        main.write_text(MAIN_CONF.format(user=user, tmp=self.tmp, logs=ARTIFACTS, server=self.server_conf))
        self._spawn([NGINX, "-p", str(self.tmp), "-c", str(main), "-e", str(ARTIFACTS / "nginx-error.log")])
        self._wait_for(self.port, "nginx")

    def render(self, output: Path, **overrides: str) -> str:
        (self.tmp / "body").mkdir(exist_ok=True)
        env = {
            **os.environ,
            "NGINX_UPSTREAM": f"127.0.0.1:{self.gunicorn_port}",
            "NGINX_LISTEN_PORT": str(self.port),
            "NGINX_STATIC_ROOT": str(self.static_root),
            "NGINX_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "NGINX_CLIENT_BODY_TEMP_PATH": str(self.tmp / "body"),
            "UPLOAD_MAX_BYTES": str(self.upload_max_bytes),
            **overrides,
        }
        subprocess.run([str(DEPLOY / "render.sh"), str(DEPLOY / "mediapipe.conf.template"), str(output)],
                       env=env, check=True, capture_output=True, timeout=30)  # fmt: skip
        return output.read_text()

    def _spawn(self, command: list[str], **kwargs: object) -> None:
        self.processes.append(subprocess.Popen(command, cwd=ROOT, start_new_session=True, **kwargs))  # type: ignore[call-overload]

    def _wait_for(self, port: int, what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[-1].poll() is not None:
                raise RuntimeError(f"{what} exited with {self.processes[-1].returncode}; see {ARTIFACTS}")
            try:
                Client(port).get("/accounts/login/")
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"{what} did not answer on port {port} within {timeout:.0f} s")

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop_group(process, timeout=40)


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


class Client:
    """http.client with a cookie jar: what a browser sends, no more."""

    def __init__(self, port: int) -> None:
        self.port, self.cookies = port, SimpleCookie()

    def request(self, method: str, path: str, body: bytes | Iterable[bytes] | None = None, **headers: str) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            headers = {k.replace("_", "-"): v for k, v in headers.items()}
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            for cookie in response.headers.get_all("Set-Cookie") or []:
                self.cookies.load(cookie)
            return Response(response.status, response.headers, response.read())
        finally:
            conn.close()

    def get(self, path: str, **headers: str) -> Response:
        return self.request("GET", path, None, **headers)

    def login(self, username: str, password: str) -> None:
        self.get("/accounts/login/")
        form = {"username": username, "password": password, "csrfmiddlewaretoken": self.csrf}
        origin = f"http://127.0.0.1:{self.port}"  # as a browser sends it: Django's CSRF check compares the Host
        response = self.request("POST", "/accounts/login/", urlencode(form).encode(), Origin=origin,
                                Content_Type="application/x-www-form-urlencoded")  # fmt: skip
        assert response.status == 302, (response.status, response.body[:500])
        assert "sessionid" in self.cookies

    @property
    def csrf(self) -> str:
        return self.cookies["csrftoken"].value


BOUNDARY = "mediapipe-web-tier"


def multipart(name: str, content_type: str, boundary: str = BOUNDARY) -> tuple[bytes, bytes]:
    """The head and tail around the contents of one file field `file`, as a browser's form sends it."""
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n").encode()  # fmt: skip
    return head, f"\r\n--{boundary}--\r\n".encode()


def throttled(parts: list[bytes], seconds: float, chunks: int = 120) -> Iterator[bytes]:
    """The body in `chunks` pieces with pauses between them, lasting about `seconds`."""
    body = b"".join(parts)
    size = -(-len(body) // chunks)
    for start in range(0, len(body), size):
        time.sleep(seconds / chunks)
        yield body[start : start + size]
