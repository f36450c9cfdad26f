"""Moving media between Django storage and local scratch space, only through the storage API
(never `.path`), so an object store can replace the filesystem."""

from __future__ import annotations

import contextlib
import os
import shutil

from django.core.files import File
from django.core.files.storage import Storage


def copy_to_local(storage: Storage, name: str, dest: str) -> None:
    with storage.open(name, "rb") as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out, length=1024 * 1024)


def publish_dir(storage: Storage, local_dir: str, prefix: str) -> list[str]:
    """Save every file under `local_dir` at `prefix/<relative path>`; return the stored names."""
    saved = []
    for root, _dirs, files in os.walk(local_dir):
        for filename in sorted(files):
            path = os.path.join(root, filename)
            relative = os.path.relpath(path, local_dir).replace(os.sep, "/")
            with open(path, "rb") as fh:
                saved.append(storage.save(f"{prefix}/{relative}", File(fh)))
    return saved


def delete_prefix(storage: Storage, prefix: str) -> None:
    """Delete everything stored under `prefix/` (object stores have no folders to ask exists() about)."""
    if not prefix:
        return
    try:
        dirs, files = storage.listdir(prefix)
    except FileNotFoundError:
        return
    for filename in files:
        storage.delete(f"{prefix}/{filename}")
    for dirname in dirs:
        delete_prefix(storage, f"{prefix}/{dirname}")
    # Filesystem storage leaves empty folders behind; object stores have none (and no path).
    with contextlib.suppress(OSError, NotImplementedError):
        os.rmdir(storage.path(prefix))
