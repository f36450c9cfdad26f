"""The site's pages (mounted at the root by config.urls), login/logout, health, and media."""

import re

from django.conf import settings
from django.urls import URLPattern, URLResolver, include, path, re_path

from config.login_throttle import ThrottledLoginView

from . import media, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.upload_list, name="upload_list"),
    path("upload/", views.upload_new, name="upload_new"),
    path("uploads/<int:upload_id>/", views.upload_detail, name="upload_detail"),
    path("uploads/<int:upload_id>/status.json", views.upload_status, name="upload_status"),
    path("uploads/<int:upload_id>/delete/", views.upload_delete_view, name="upload_delete"),
    path("uploads/<int:upload_id>/speakers/<str:label>/", views.speaker_rename_view, name="speaker_rename"),
    path("uploads/<int:upload_id>/transcript.<str:fmt>", views.transcript_download, name="transcript_download"),
    path("healthz/", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    # LOGIN_REDIRECT_URL is unset (its default /accounts/profile/ does not exist): land on the list.
    path(
        "accounts/login/",
        ThrottledLoginView.as_view(next_page="upload_list", redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
]

# Media only through the ownership check (uploads.media).
urlpatterns.append(
    re_path(rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.*)$", media.media_serve, name="media")
)
