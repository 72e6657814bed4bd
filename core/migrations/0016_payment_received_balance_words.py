"""payment_received: {balance} is now the balance in words with its currency ("owes 225.00 EGP",
"credit 225.00 EGP", "nothing owed"; issue 11.9), so the texts drop the currency they wrote after
it. Centers' edited texts get the same fix when they wrote a currency right after {balance}."""

import re

from django.db import migrations

CURRENCY_AFTER_BALANCE = re.compile(r"\{balance\}[ \u00a0]*(?:جنيهًا|جنيها|جنيه|ج\.م\.?|EGP|L\.?E\.?|pounds?)")


def currency_drop(apps, schema_editor):
    MessageTemplate = apps.get_model("core", "MessageTemplate")
    for template in MessageTemplate.objects.filter(key="payment_received"):
        text_ar = CURRENCY_AFTER_BALANCE.sub("{balance}", template.text_ar)
        text_en = CURRENCY_AFTER_BALANCE.sub("{balance}", template.text_en)
        if (text_ar, text_en) != (template.text_ar, template.text_en):
            MessageTemplate.objects.filter(pk=template.pk).update(text_ar=text_ar, text_en=text_en)


def currency_restore(apps, schema_editor):
    MessageTemplate = apps.get_model("core", "MessageTemplate")
    for template in MessageTemplate.objects.filter(key="payment_received"):
        MessageTemplate.objects.filter(pk=template.pk).update(
            text_ar=template.text_ar.replace("{balance}", "{balance} جنيه"),
            text_en=template.text_en.replace("{balance}", "{balance} EGP"),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0015_backups"),
    ]

    operations = [
        migrations.RunPython(currency_drop, currency_restore),
    ]
