"""A sale voided before its receipt keeps the receipt that paid it (core/services/sales.py
``sales_unpaid_by_void``): the cash book then gives its money back once, on the day the sale was
voided. Voids made before that rule unlinked such sales; their receipt's void audit row names
them (``item_sales_owed``), so the link and the paid date come back from it."""

from django.db import migrations


def voided_sales_relink(apps, schema_editor):
    AuditLog = apps.get_model("core", "AuditLog")
    ItemSale = apps.get_model("core", "ItemSale")
    Receipt = apps.get_model("core", "Receipt")
    rows = AuditLog.objects.filter(model="core.receipt", action="cancel").values_list("object_id", "changes")
    for object_id, changes in rows.iterator():
        owed = ((changes or {}).get("item_sales_owed") or [None, []])[1] or []
        if not owed:
            continue
        receipt = Receipt.objects.filter(pk=object_id, voided_at__isnull=False).first()
        if receipt is None:
            continue
        ItemSale.objects.filter(
            pk__in=[int(sale_id) for sale_id in owed],
            receipt__isnull=True,
            voided_at__isnull=False,
            voided_at__lt=receipt.voided_at,
        ).update(receipt=receipt, paid_on=receipt.date)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0026_importjob_expenses"),
    ]

    operations = [
        migrations.RunPython(voided_sales_relink, migrations.RunPython.noop),
    ]
