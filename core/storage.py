"""Object storage for uploads: private S3-compatible buckets, served through our own /media/ view.

Uploads stay private whatever the storage: ``url()`` names our /media/ view (core/media.py), which
checks the staff session or the kiosk's signed, expiring link and streams the object. Browsers
never talk to the bucket, so the pages' CSP keeps ``img-src 'self'``.
"""

from django.conf import settings
from django.utils.encoding import filepath_to_uri
from storages.backends.s3 import S3Storage


class PrivateMediaS3Storage(S3Storage):
    def url(self, name, parameters=None, expire=None, http_method=None):
        return f"{settings.MEDIA_URL}{filepath_to_uri(name).lstrip('/')}"
