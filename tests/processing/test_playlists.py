"""processing.media.playlists: every URI of a playlist, and nothing else, goes through resolve."""

from processing.media.playlists import rewrite_uris

MASTER = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",URI="subs/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=2928000,RESOLUTION=1280x720,SUBTITLES="subs"
v0/index.m3u8
"""
MEDIA = """#EXTM3U
#EXT-X-MAP:URI="init.mp4"
#EXTINF:2.000000,
seg_00000.m4s

#EXT-X-ENDLIST
"""


def test_uri_lines_and_uri_attributes_are_rewritten() -> None:
    assert rewrite_uris(MASTER, lambda uri: f"/signed/{uri}?sig=1&x=2") == MASTER.replace(
        'URI="subs/index.m3u8"', 'URI="/signed/subs/index.m3u8?sig=1&x=2"'
    ).replace("\nv0/index.m3u8", "\n/signed/v0/index.m3u8?sig=1&x=2")


def test_media_playlist_keeps_tags_and_blank_lines() -> None:
    seen: list[str] = []

    def resolve(uri: str) -> str:
        seen.append(uri)
        return uri.upper()

    out = rewrite_uris(MEDIA, resolve)
    assert seen == ["init.mp4", "seg_00000.m4s"]
    assert out == MEDIA.replace('"init.mp4"', '"INIT.MP4"').replace("seg_00000.m4s", "SEG_00000.M4S")
