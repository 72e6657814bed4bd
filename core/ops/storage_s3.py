"""The bucket storage for uploads (set by ``project/settings.py`` when a bucket is configured),
apart from ``storage`` so that boto3 is imported only by processes that use a bucket."""

from django.conf import settings
from django.utils.encoding import filepath_to_uri
from storages.backends.s3 import S3Storage


class PrivateMediaS3Storage(S3Storage):
    """Private objects whose URL is our own /media/ view (core/ops/media.py), never the bucket."""

    def url(self, name, parameters=None, expire=None, http_method=None):
        return f"{settings.MEDIA_URL}{filepath_to_uri(name).lstrip('/')}"
