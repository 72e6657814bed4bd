from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0019_enrollment_ledger_balance"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="notes",
            field=models.JSONField(blank=True, default=list, verbose_name="notes"),
        ),
    ]
