"""The message templates every center starts with (SPEC.md R10), in Arabic and English."""

from django.db import migrations

DEFAULT_TEMPLATES = [
    # key, mandatory, Arabic, English
    (
        "arrived",
        False,
        "ولي أمر {student_name} الفاضل، نحيطكم علمًا بحضور {student_name} حصة {group_name} الساعة {time}.\n{center_name}",
        "Dear parent, {student_name} arrived for {group_name} at {time}.\n{center_name}",
    ),
    (
        "arrived_late",
        False,
        "ولي أمر {student_name} الفاضل، نحيطكم علمًا بحضور {student_name} حصة {group_name} الساعة {time} "
        "بتأخير {minutes_late} دقيقة.\n{center_name}",
        "Dear parent, {student_name} arrived for {group_name} at {time}, {minutes_late} minutes late.\n{center_name}",
    ),
    (
        "late_refused",
        True,
        "ولي أمر {student_name} الفاضل، نأسف لعدم دخول {student_name} حصة {group_name} اليوم، "
        "نظرًا للحضور الساعة {time} بعد غلق باب الدخول. نرجو الالتزام بالمواعيد.\n{center_name}",
        "Dear parent, {student_name} could not enter {group_name} today: the arrival at {time} was after "
        "the door closed. Please help us keep to the schedule.\n{center_name}",
    ),
    (
        "payment_block",
        True,
        "ولي أمر {student_name} الفاضل، نأسف لعدم دخول {student_name} حصة {group_name} اليوم لوجود "
        "مصروفات مستحقة قدرها {amount} جنيه. برجاء السداد بمكتب الاستقبال.\n{center_name}",
        "Dear parent, {student_name} could not enter {group_name} today because fees of {amount} EGP are due. "
        "Please pay at the front desk.\n{center_name}",
    ),
    (
        "last_session_warning",
        False,
        "ولي أمر {student_name} الفاضل، نود التنبيه بأنه تتبقى حصة واحدة فقط في مجموعة {group_name} "
        "قبل ضرورة سداد المصروفات المستحقة ({amount} جنيه). شكرًا لتعاونكم.\n{center_name}",
        "Dear parent, {student_name} has one more session in {group_name} before the fees due "
        "({amount} EGP) must be paid. Thank you.\n{center_name}",
    ),
    (
        "absent",
        False,
        "ولي أمر {student_name} الفاضل، نحيطكم علمًا بغياب {student_name} عن حصة {group_name} "
        "يوم {date} الساعة {time}.\n{center_name}",
        "Dear parent, {student_name} was absent from {group_name} on {date} at {time}.\n{center_name}",
    ),
    (
        "session_cancelled",
        True,
        "ولي أمر {student_name} الفاضل، نعتذر عن إلغاء حصة {group_name} يوم {date} الساعة {time}، "
        "والسبب: {reason}.\n{center_name}",
        "Dear parent, the {group_name} session on {date} at {time} is cancelled ({reason}). "
        "We apologise.\n{center_name}",
    ),
    (
        "payment_received",
        False,
        "شكرًا لكم، تم استلام مبلغ {amount} جنيه عن {student_name} بإيصال رقم {receipt_number}. "
        "الرصيد الحالي: {balance} جنيه.\n{center_name}",
        "Thank you. We received {amount} EGP for {student_name}, receipt {receipt_number}. "
        "Balance: {balance} EGP.\n{center_name}",
    ),
    (
        "payment_reminder",
        False,
        "ولي أمر {student_name} الفاضل، نذكّركم بمصروفات مستحقة قدرها {amount} جنيه:\n{details}\n"
        "برجاء السداد بمكتب الاستقبال، وشكرًا لتعاونكم.\n{center_name}",
        "Dear parent, fees of {amount} EGP are due for {student_name}:\n{details}\n"
        "Please pay at the front desk. Thank you.\n{center_name}",
    ),
]


def templates_create(apps, schema_editor):
    MessageTemplate = apps.get_model("core", "MessageTemplate")
    for key, mandatory, text_ar, text_en in DEFAULT_TEMPLATES:
        MessageTemplate.objects.get_or_create(
            key=key, defaults={"text_ar": text_ar, "text_en": text_en, "is_mandatory": mandatory, "is_active": True}
        )


def templates_remove(apps, schema_editor):
    MessageTemplate = apps.get_model("core", "MessageTemplate")
    MessageTemplate.objects.filter(key__in=[key for key, *_rest in DEFAULT_TEMPLATES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_messaging"),
    ]

    operations = [
        migrations.RunPython(templates_create, templates_remove),
    ]
