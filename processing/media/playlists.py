"""Rewriting the URIs of an HLS playlist (RFC 8216 4.1: a URI line, or a URI="..." attribute of a
tag such as EXT-X-MAP or EXT-X-MEDIA). Pure text; the caller says what each URI becomes."""

from __future__ import annotations

import re
from collections.abc import Callable

_URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')


def rewrite_uris(text: str, resolve: Callable[[str], str]) -> str:
    lines = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            line = resolve(line.strip())
        elif line.startswith("#") and 'URI="' in line:
            line = _URI_ATTRIBUTE.sub(lambda match: f'URI="{resolve(match.group(1))}"', line)
        lines.append(line)
    return "\n".join(lines) + "\n"
