import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    """When the server received each scan: the kiosk endpoint's rate limit counts these rows."""

    dependencies = [("core", "0009_door_offline")]

    operations = [
        migrations.AddField(
            model_name="scanevent",
            name="received_at",
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name="received at"),
        ),
        migrations.AddIndex(
            model_name="scanevent",
            index=models.Index(fields=["kiosk", "received_at"], name="scan_kiosk_received"),
        ),
    ]
