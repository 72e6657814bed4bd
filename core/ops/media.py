"""Uploaded files (student photos, the center's logo, import files) served by the app itself.

A PaaS web dyno has no web server in front of ``MEDIA_ROOT`` and whitenoise serves static
files only, so ``/media/<name>`` is this view, in development and production alike. Uploads
are private: a staff member who is logged in may fetch them, and the kiosk (a device with a
token in a header, which an ``<img>`` cannot send) gets a signed URL that expires:
``media_url_signed(name)``. Anyone else gets 403; a name that is not in storage gets 404.
"""

import mimetypes
import posixpath
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponseNotModified
from django.utils.http import http_date
from django.views.decorators.http import require_safe
from django.views.static import was_modified_since

SIGNING_SALT = "core.ops.media"
DEFAULT_MAX_AGE = 600
# Inline only for images a browser draws and cannot script; anything else downloads.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/bmp"})


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SIGNING_SALT)


def media_name_clean(name: str) -> str | None:
    """The storage name for a requested path, or None when it could leave MEDIA_ROOT.

    Refuses absolute paths, ``..`` and ``.`` parts, empty parts, backslashes and control
    characters instead of repairing them: a real upload's name never has them.
    """
    if not name or "\\" in name or any(ord(char) < 32 for char in name):
        return None
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return None
    cleaned = posixpath.normpath(name)
    if cleaned != name or cleaned.startswith("/"):
        return None
    return cleaned


def _signed_value(name: str, max_age: int) -> str:
    return f"{max_age}\n{name}"


def media_url_signed(name: str, max_age: int = DEFAULT_MAX_AGE) -> str:
    """A URL of the stored file ``name`` that anyone holding it may fetch for ``max_age`` seconds.

    ``name`` is the storage name (``student.photo.name``), e.g. ``students/1001.jpg``. The
    result is ``/media/<name>?s=<max_age>:<timestamp>:<signature>``; the lifetime is part of
    what is signed, so it cannot be stretched.
    """
    max_age = int(max_age)
    signed = _signer().sign(_signed_value(name, max_age))
    _value, timestamp, signature = signed.rsplit(":", 2)
    return f"{default_storage.url(name)}?s={quote(f'{max_age}:{timestamp}:{signature}', safe=':')}"


def media_signature_valid(name: str, token: str) -> int | None:
    """The signed lifetime in seconds when ``token`` signs ``name`` and has not expired, else None."""
    max_age, _sep, rest = (token or "").partition(":")
    if not max_age.isdigit() or not rest:
        return None
    try:
        _signer().unsign(f"{_signed_value(name, int(max_age))}:{rest}", max_age=int(max_age))
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return None
    return int(max_age)


def _staff(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_staff)


@require_safe
def media_serve(request: HttpRequest, name: str):
    """``/media/<name>``: the stored file for staff or a valid signature; 403 or 404 otherwise."""
    cleaned = media_name_clean(name)
    signed_for = media_signature_valid(cleaned, request.GET.get("s", "")) if cleaned else None
    staff = _staff(request)
    if not staff and signed_for is None:
        raise PermissionDenied  # the center's 403 page; an <img> just shows nothing
    if cleaned is None:
        raise Http404
    try:
        if not default_storage.exists(cleaned):
            raise Http404
    except (SuspiciousFileOperation, OSError):
        raise Http404 from None
    try:
        modified = int(default_storage.get_modified_time(cleaned).timestamp())
    except (NotImplementedError, OSError):  # a storage that does not know: no 304s then
        modified = None
    cache_seconds = signed_for if signed_for is not None else getattr(settings, "MEDIA_CACHE_SECONDS", DEFAULT_MAX_AGE)
    if modified is not None and not was_modified_since(request.META.get("HTTP_IF_MODIFIED_SINCE"), modified):
        response = HttpResponseNotModified()
    else:
        content_type, encoding = mimetypes.guess_type(cleaned)
        if encoding or not content_type:  # a .gz is a download, not a page to unpack
            content_type = "application/octet-stream"
        inline = content_type in INLINE_TYPES
        response = FileResponse(
            default_storage.open(cleaned, "rb"),
            content_type=content_type,
            as_attachment=not inline,
            filename=posixpath.basename(cleaned),
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
    if modified is not None:
        response.headers["Last-Modified"] = http_date(modified)
    response.headers["Cache-Control"] = f"private, max-age={int(cache_seconds)}"
    if not signed_for:
        response.headers["Vary"] = "Cookie"
    return response
