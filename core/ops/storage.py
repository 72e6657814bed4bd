"""Where uploads live, and how a refused write is handled.

Object storage for uploads: private S3-compatible buckets, served through our own /media/ view.
Uploads stay private whatever the storage: ``url()`` names our /media/ view (core/ops/media.py), which
checks the staff session or the kiosk's signed, expiring link and streams the object. Browsers
never talk to the bucket, so the pages' CSP keeps ``img-src 'self'``.

A write the storage refuses (a full or read-only disk, the bucket answering an error) must not
become a bare 500 that loses the typed form, nor leave a truncated file holding names and phone
numbers that nothing cleans: ``upload_store`` deletes what was written, logs the storage and the
path for the operator and raises ``UploadFailed``, a ``ValidationError`` on the upload's field that
the forms show. ``uploads_written_first`` writes a model's new files before its row is saved.

boto3 is imported only where a bucket is used (``storage_s3``) or an error is being read: it is a
tenth of every process's start (gunicorn workers, manage.py) on a center that keeps files on disk.
"""

import errno
import functools
import logging
import posixpath
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


@functools.cache
def storage_errors() -> tuple[type[Exception], ...]:
    """What a storage raises when it cannot write: FileSystemStorage an OSError (ENOSPC, EROFS,
    EACCES, EDQUOT...), S3Storage botocore's errors, or boto3's S3UploadFailedError around them.
    (An ``except`` clause evaluates this only when an exception is on its way.)"""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    return (OSError, BotoCoreError, ClientError, Boto3Error)


class UploadFailed(ValidationError):
    """The storage refused an upload; nothing of it is kept. A ValidationError on the upload's field
    (code ``upload_failed``), so every form and service caller shows it like any other refusal."""


def _storage_label(storage) -> str:
    storage = getattr(storage, "_wrapped", storage)  # default_storage is a lazy wrapper around the real one
    location = getattr(storage, "location", "") or getattr(storage, "bucket_name", "")
    return f"{type(storage).__module__}.{type(storage).__name__}({location})"


def _error_label(error: Exception) -> str:
    if isinstance(error, OSError) and error.errno:
        return f"{errno.errorcode.get(error.errno, error.errno)}: {error.strerror}"
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError):
        return f"{type(error).__name__}: {error.response.get('Error', {}).get('Code', '?')}"
    return type(error).__name__


def _written_delete(storage, name: str) -> bool:
    """Delete what a failed or abandoned write left under ``name``; True when nothing is left."""
    try:
        storage.delete(name)  # FileSystemStorage and S3Storage: a missing name is not an error
    except storage_errors() as error:
        logger.error(
            "upload cleanup failed: %s could not delete %s (%s); delete it by hand",
            _storage_label(storage),
            name,
            _error_label(error),
            extra={"storage": _storage_label(storage), "path": name},
        )
        return False
    return True


def upload_failed_message(file_name: str) -> str:
    return _(
        "The file “%(file)s” could not be stored: the server's storage refused it (full or not "
        "writable), so nothing was saved. Your other entries are kept: choose the file again and save. "
        "If it happens again, tell whoever runs the system."
    ) % {"file": file_name}


def upload_store(*, storage, name: str, content, field: str = "file", max_length: int | None = None) -> str:
    """Write ``content`` as ``name`` (or the free name the storage picks); return the stored name.

    When the storage refuses, the partial file is deleted, the operator gets an error log line
    (storage, path and errno; no content) and ``UploadFailed`` names ``field``.
    """
    target = name
    try:
        # The name is fixed first, so a refused write knows which partial file is its own.
        target = storage.get_available_name(name, max_length=max_length)
        return storage.save(target, content, max_length=max_length)
    except storage_errors() as error:
        cleaned = _written_delete(storage, target)
        logger.error(
            "upload refused: %s could not write %s (%s); partial file %s",
            _storage_label(storage),
            target,
            _error_label(error),
            "deleted" if cleaned else "left",
            extra={"storage": _storage_label(storage), "path": target, "error": _error_label(error)},
        )
        file_name = posixpath.basename(str(getattr(content, "name", "") or name))
        raise UploadFailed(
            {field: [ValidationError(upload_failed_message(file_name), code="upload_failed")]}
        ) from error


@contextmanager
def uploads_written_first(instance: models.Model) -> Iterator[list[str]]:
    """Write ``instance``'s new uploads now, before its row is saved inside the block.

    A refused write raises ``UploadFailed`` before any row exists (the caller's transaction rolls
    back whatever it did before); when anything in the block fails after the files were written,
    they are deleted again, so a save that did not happen leaves no file behind.
    """
    written: list[tuple[object, str]] = []
    completed = False
    try:
        for field in instance._meta.concrete_fields:
            if not isinstance(field, models.FileField):
                continue
            field_file = getattr(instance, field.attname)
            if not field_file or field_file._committed:
                continue
            stored = upload_store(
                storage=field_file.storage,
                name=field.generate_filename(instance, field_file.name),
                content=field_file.file,
                field=field.name,
                max_length=field.max_length,
            )
            written.append((field_file.storage, stored))
            setattr(instance, field.attname, stored)  # a committed FieldFile: save() writes no file
        yield [stored for _storage, stored in written]
        completed = True
    finally:
        if not completed:
            for storage, stored in written:
                _written_delete(storage, stored)
