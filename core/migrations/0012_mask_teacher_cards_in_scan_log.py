from django.db import migrations


def mask(apps, schema_editor):
    """Scan events stored teacher cards whole (``T-<id>.<version>:<signature>``); the signature is
    all a working card needs, so keep only ``T-<id>.<version>:…`` (core.cards.teacher_card_masked)."""
    ScanEvent = apps.get_model("core", "ScanEvent")
    for event in ScanEvent.objects.filter(code__istartswith="T-").only("pk", "raw_code", "code").iterator():
        fields = {}
        for name in ("raw_code", "code"):
            head, colon, _signature = getattr(event, name).partition(":")
            if colon and head.strip().upper().startswith("T-"):
                fields[name] = f"{head}:…"
        if fields:
            ScanEvent.objects.filter(pk=event.pk).update(**fields)


class Migration(migrations.Migration):
    dependencies = [("core", "0011_drop_covered_fk_indexes")]

    operations = [migrations.RunPython(mask, migrations.RunPython.noop)]
