"""The center's own date and number formats (FORMAT_MODULE_PATH), one module per language.

Django's Arabic formats write decimals with a comma ("225,00") and leave dates and times in US
order ("نوفمبر 28, 2026, 5:20 م"); the kiosk, cashier and receipts write "225.00", and an
Egyptian reader expects day, month, year. Keys missing here fall back to Django's own module.
"""
