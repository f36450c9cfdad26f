from django.contrib import admin
from django.urls import include, path

from config.login_throttle import ThrottledAdminAuthenticationForm

# Admin's login is throttled like the pages' (config.login_throttle); the form says so.
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("admin/", admin.site.urls),
    # The pages, login/logout, healthz, and MEDIA_URL through the ownership check (uploads.media).
    path("", include("uploads.urls")),
]
