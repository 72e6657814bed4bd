"""Storages that refuse writes, for the upload tests (issue 15, item 5).

Three real ways a disk says no, each under the project's FileSystemStorage:
- ``full``: a 64 KiB tmpfs mounted here: a bigger file is written in part, then ENOSPC;
- ``read-only``: a tmpfs mounted read-only: EROFS before anything is written;
- ``full-no-mount``: where mounting is not permitted, a FileSystemStorage whose ``_save`` writes
  the first 4 KiB and then raises ENOSPC, as the kernel does on a full disk.
The tests run as root, which ignores a chmod 0o555 directory: permissions cannot make a disk
unwritable here, a read-only mount can.
"""

import errno
import os
import subprocess
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage

DISK_BYTES = 64 * 1024
# Bigger than the small disk, so the write starts and is cut off part way.
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 800  # ~200 KiB


class DiskFullMidWriteStorage(FileSystemStorage):
    """The real FileSystemStorage, on a disk that fills up after the first 4 KiB of a file."""

    def _save(self, name, content):
        full_path = self.path(name)
        os.makedirs(os.path.dirname(full_path), exist_ok=True)
        content.seek(0)
        with open(full_path, "xb") as handle:
            handle.write(content.read(4096))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), full_path)


def _mount(point: Path, options: str) -> None:
    point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip()}); the no-mount case covers it")


@pytest.fixture(name="refusing_disk", params=["full", "read-only", "full-no-mount"])
def refusing_disk_fixture(request, settings, tmp_path) -> Path:
    """MEDIA storage on a disk that refuses writes; yields the directory to look for leftovers in."""
    point = tmp_path / "media"
    mounted = request.param in ("full", "read-only")
    if request.param == "full":
        _mount(point, f"size={DISK_BYTES}")
    elif request.param == "read-only":
        _mount(point, f"ro,size={DISK_BYTES}")
    else:
        point.mkdir()
    backend = (
        "tests.refusing_storage.DiskFullMidWriteStorage"
        if request.param == "full-no-mount"
        else "django.core.files.storage.FileSystemStorage"
    )
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": backend, "OPTIONS": {"location": str(point)}}}
    settings.MEDIA_ROOT = str(point)
    yield point
    if mounted:
        subprocess.run(["umount", str(point)], check=True)


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]
