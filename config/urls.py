from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # The pages, login/logout, and MEDIA_URL while SERVE_MEDIA (default: DEBUG) is on.
    path("", include("uploads.urls")),
]
