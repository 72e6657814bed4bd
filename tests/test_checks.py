"""Our deploy checks."""

from core.ops.checks import uploads_on_durable_storage


def test_deploy_check_says_uploads_live_on_the_local_disk_without_a_bucket(settings):
    settings.AWS_STORAGE_BUCKET_NAME = ""
    [message] = uploads_on_durable_storage(None)
    assert message.id == "core.I001" and "AWS_STORAGE_BUCKET_NAME" in message.hint
    assert not message.is_serious()  # an Info: check --deploy --fail-level WARNING still passes


def test_deploy_check_is_quiet_with_a_bucket(settings):
    settings.AWS_STORAGE_BUCKET_NAME = "center-uploads"
    assert uploads_on_durable_storage(None) == []
