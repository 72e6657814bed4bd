"""A sale a receipt's void left owed keeps a row saying which receipt had paid it and when that was
undone (``ItemSaleReceiptVoid``), so settlements give a locked month's item share back. Receipts
voided before this rule name those sales in their void's audit row (``item_sales_owed``): the rows
come back from it, except for sales voided before their receipt (they keep the receipt, 0027)."""

import django.db.models.deletion
from django.db import migrations, models


def receipt_voids_backfill(apps, schema_editor):
    AuditLog = apps.get_model("core", "AuditLog")
    ItemSale = apps.get_model("core", "ItemSale")
    ItemSaleReceiptVoid = apps.get_model("core", "ItemSaleReceiptVoid")
    Receipt = apps.get_model("core", "Receipt")
    rows = AuditLog.objects.filter(model="core.receipt", action="cancel").values_list("object_id", "changes")
    for object_id, changes in rows.iterator():
        owed = ((changes or {}).get("item_sales_owed") or [None, []])[1] or []
        if not owed:
            continue
        receipt = Receipt.objects.filter(pk=object_id, voided_at__isnull=False).first()
        if receipt is None:
            continue
        sale_ids = ItemSale.objects.filter(pk__in=[int(sale_id) for sale_id in owed]).exclude(receipt=receipt)
        ItemSaleReceiptVoid.objects.bulk_create(
            [
                ItemSaleReceiptVoid(sale_id=sale_id, receipt=receipt, paid_on=receipt.date, voided_at=receipt.voided_at)
                for sale_id in sale_ids.values_list("pk", flat=True)
            ],
            ignore_conflicts=True,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0028_importjob_items"),
    ]

    operations = [
        migrations.CreateModel(
            name="ItemSaleReceiptVoid",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("paid_on", models.DateField(verbose_name="paid on")),
                ("voided_at", models.DateTimeField(verbose_name="voided at")),
                (
                    "receipt",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="core.receipt",
                        verbose_name="receipt",
                    ),
                ),
                (
                    "sale",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="receipt_voids",
                        to="core.itemsale",
                        verbose_name="sale",
                    ),
                ),
            ],
            options={
                "verbose_name": "sale left owed by a voided receipt",
                "verbose_name_plural": "sales left owed by voided receipts",
                "ordering": ["voided_at", "id"],
                "indexes": [models.Index(fields=["paid_on", "voided_at"], name="core_itemsa_paid_on_e3e2dc_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("sale", "receipt"), name="one_receipt_void_per_sale_and_receipt")
                ],
            },
        ),
        migrations.RunPython(receipt_voids_backfill, migrations.RunPython.noop),
    ]
