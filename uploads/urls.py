"""The site's pages (mounted at the root by config.urls), login/logout, and media in development."""

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path, re_path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.upload_list, name="upload_list"),
    path("upload/", views.upload_new, name="upload_new"),
    path("uploads/<int:pk>/", views.upload_detail, name="upload_detail"),
    path("uploads/<int:pk>/status.json", views.upload_status, name="upload_status"),
    # LOGIN_REDIRECT_URL is unset (its default /accounts/profile/ does not exist): land on the list.
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(next_page="upload_list", redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
]

# The media view answers only while SERVE_MEDIA (default: DEBUG) is on, checked per request so
# tests can turn it on with override_settings. A MEDIA_URL on another host is not ours to serve.
if settings.MEDIA_URL and not urlsplit(settings.MEDIA_URL).netloc:
    urlpatterns.append(
        re_path(rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.*)$", views.media_serve, name="media")
    )
