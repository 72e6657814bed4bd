"""System checks of our own (``manage.py check --deploy``)."""

from django.conf import settings
from django.core.checks import Info, Tags, register


@register(Tags.files, deploy=True)
def uploads_on_durable_storage(app_configs, **kwargs):
    """SPEC §5: uploads never live only on a PaaS machine's disk. Without a bucket they do, which
    is right for a server with its own disk and wrong on a PaaS: say so (an Info, so a server that
    keeps its disk still passes ``check --deploy --fail-level WARNING``)."""
    if settings.AWS_STORAGE_BUCKET_NAME:
        return []
    return [
        Info(
            "Uploads and backups are kept on this machine's disk (MEDIA_ROOT).",
            hint="On a PaaS that disk is wiped at every deploy: set AWS_STORAGE_BUCKET_NAME and the other "
            "AWS_* settings (README: 'Uploads and backups need object storage on a PaaS').",
            id="core.I001",
        )
    ]
