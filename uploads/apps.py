import mimetypes

from django.apps import AppConfig

# HLS and subtitle types that Python's table lacks or gets wrong; object stores and Django's static
# serving take content types from it.
MEDIA_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".vtt": "text/vtt",
    ".srt": "application/x-subrip",
}


class UploadsConfig(AppConfig):
    name = "uploads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        for suffix, content_type in MEDIA_TYPES.items():
            mimetypes.add_type(content_type, suffix)
