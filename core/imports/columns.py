"""The columns of each import sheet (students, teachers, groups): key, label, the Arabic header the
template uses and the other spellings accepted in files (Arabic and English), and the spellings
people type for choices (grades, gender, fee plans, pay schemes, fee periods, weekdays).

This is data, not interface text: a new accepted spelling is one more string in a tuple here.
"""

from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext_lazy

from core.imports.cells import header_key
from core.models import Gender


@dataclass(frozen=True)
class Column:
    """A column of an import sheet: its key, its label, the Arabic header the template uses
    and the other spellings accepted in files (data, not interface text)."""

    key: str
    label: object  # lazy translated label (English source)
    arabic: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    example: str = ""


STUDENT_COLUMNS: tuple[Column, ...] = (
    Column("code", gettext_lazy("Code"), "الكود", ("كود", "كود الطالب", "code", "student code", "id"), example=""),
    Column(
        "full_name",
        gettext_lazy("Full name"),
        "اسم الطالب",
        (
            "الاسم",
            "الاسم بالكامل",
            "الاسم الكامل",
            "اسم الطالب بالكامل",
            "الطالب",
            "name",
            "full name",
            "student name",
            "student",
        ),
        required=True,
        example="أحمد محمد علي",
    ),
    Column(
        "phone",
        gettext_lazy("Student phone"),
        "هاتف الطالب",
        ("موبايل الطالب", "تليفون الطالب", "رقم هاتف الطالب", "student phone", "student mobile", "phone"),
        example="01112345678",
    ),
    Column(
        "guardian_name",
        gettext_lazy("Guardian name"),
        "اسم ولي الأمر",
        ("ولي الأمر", "guardian", "guardian name", "parent", "parent name"),
        example="محمد علي",
    ),
    Column(
        "guardian_phone",
        gettext_lazy("Guardian phone"),
        "هاتف ولي الأمر",
        (
            "موبايل ولي الأمر",
            "رقم ولي الأمر",
            "تليفون ولي الأمر",
            "واتساب ولي الأمر",
            "رقم هاتف ولي الأمر",
            "guardian phone",
            "guardian mobile",
            "parent phone",
            "whatsapp",
        ),
        required=True,
        example="01001234567",
    ),
    Column(
        "guardian2_name",
        gettext_lazy("Second guardian name"),
        "اسم ولي الأمر الثاني",
        ("second guardian name", "guardian 2 name"),
    ),
    Column(
        "guardian2_phone",
        gettext_lazy("Second guardian phone"),
        "هاتف ولي الأمر الثاني",
        (
            "موبايل ولي الأمر الثاني",
            "رقم ولي الأمر الثاني",
            "هاتف الأم",
            "موبايل الأم",
            "second guardian phone",
            "guardian 2 phone",
        ),
    ),
    Column(
        "grade", gettext_lazy("Grade"), "الصف", ("الصف الدراسي", "السنة الدراسية", "المرحلة", "grade", "class", "year")
    ),
    Column("gender", gettext_lazy("Gender"), "النوع", ("الجنس", "ذكر/أنثى", "gender", "sex"), example="ذكر"),
    Column("school", gettext_lazy("School"), "المدرسة", ("school",)),
    Column(
        "groups",
        gettext_lazy("Group codes"),
        "أكواد المجموعات",
        ("المجموعات", "المجموعة", "كود المجموعة", "كود المجموعات", "groups", "group", "group code", "group codes"),
    ),
    Column("fee_plan", gettext_lazy("Fee plan"), "نظام الرسوم", ("خطة الرسوم", "نوع الرسوم", "fee plan", "plan")),
    Column(
        "custom_fee",
        gettext_lazy("Custom fee"),
        "الرسوم المخفضة",
        ("رسوم خاصة", "الرسوم الخاصة", "رسوم مخفضة", "custom fee", "reduced fee"),
    ),
    Column(
        "fee_reason",
        gettext_lazy("Fee plan reason"),
        "سبب التخفيض أو الإعفاء",
        ("سبب الرسوم", "سبب التخفيض", "سبب الإعفاء", "fee reason", "fee plan reason", "reason"),
    ),
    Column("notes", gettext_lazy("Notes"), "ملاحظات", ("الملاحظات", "notes", "note", "remarks")),
)

# Columns our own error report adds: accepted on re-upload and ignored without a warning.
IGNORED_HEADERS = ("الأخطاء", "errors", "error", "خطأ", "#", "م", "مسلسل", "no")

# What people write in a gender column (folded by header_key), in Arabic and English.
GENDER_ALIASES = {
    header_key(text): value
    for value, texts in (
        (Gender.MALE, ("ذكر", "ولد", "ابن", "طالب", "male", "m", "boy")),
        (Gender.FEMALE, ("أنثى", "انثى", "بنت", "ابنة", "طالبة", "female", "f", "girl")),
    )
    for text in texts
}

# Spellings of grades people type besides the labels (in any language) and the codes.
GRADE_ALIASES = {
    "p4": ("4 ابتدائي", "رابعة ابتدائي", "رابع ابتدائي"),
    "p5": ("5 ابتدائي", "خامسة ابتدائي", "خامس ابتدائي"),
    "p6": ("6 ابتدائي", "سادسة ابتدائي", "سادس ابتدائي"),
    "m1": ("1 اعدادي", "اولى اعدادي", "أولى إعدادي", "الصف الأول الإعدادي"),
    "m2": ("2 اعدادي", "تانية اعدادي", "ثانية إعدادي", "الصف الثاني الإعدادي"),
    "m3": ("3 اعدادي", "تالتة اعدادي", "ثالثة إعدادي", "الصف الثالث الإعدادي"),
    "s1": ("1 ثانوي", "اولى ثانوي", "أولى ثانوي", "الصف الأول الثانوي", "1ث"),
    "s2": ("2 ثانوي", "تانية ثانوي", "ثانية ثانوي", "الصف الثاني الثانوي", "2ث"),
    "s3": ("3 ثانوي", "تالتة ثانوي", "ثالثة ثانوي", "الصف الثالث الثانوي", "3ث"),
}
FEE_PLAN_ALIASES = {
    "normal": ("عادى", "كامل", "full"),
    "reduced": ("مخفض", "تخفيض", "خصم", "discount"),
    "exempt": ("معفي", "معفى", "اعفاء", "إعفاء", "مجاني", "free"),
}


# --- teachers and groups (with their weekly slots): small files, checked by applying them -----
# inside a transaction that is rolled back, so every rule of the services (timetable conflicts
# between rows of the same file included) is reported on its row.

TEACHER_COLUMNS: tuple[Column, ...] = (
    Column(
        "full_name",
        gettext_lazy("Full name"),
        "اسم المدرس",
        ("الاسم", "اسم المعلم", "المدرس", "المعلم", "name", "full name", "teacher", "teacher name"),
        required=True,
        example="أ. محمود سالم",
    ),
    Column(
        "phone",
        gettext_lazy("Phone"),
        "الهاتف",
        ("هاتف المدرس", "موبايل", "رقم الهاتف", "phone", "mobile"),
        example="01001234567",
    ),
    Column("subject", gettext_lazy("Subject"), "المادة", ("subject",), example="رياضيات"),
    Column(
        "pay_scheme",
        gettext_lazy("Pay scheme"),
        "نظام المحاسبة",
        ("نظام الأجر", "pay scheme", "default pay scheme"),
    ),
    Column(
        "pay_rate", gettext_lazy("Pay rate"), "النسبة أو المبلغ", ("الأجر", "النسبة", "pay rate", "rate"), example="70"
    ),
)

GROUP_COLUMNS: tuple[Column, ...] = (
    Column(
        "code",
        gettext_lazy("Code"),
        "كود المجموعة",
        ("الكود", "كود", "code", "group code"),
        required=True,
        example="MATH-S1-A",
    ),
    Column(
        "name",
        gettext_lazy("Name"),
        "اسم المجموعة",
        ("المجموعة", "الاسم", "name", "group name", "group"),
        required=True,
        example="رياضيات أولى ثانوي",
    ),
    Column(
        "teacher",
        gettext_lazy("Teacher"),
        "المدرس",
        ("اسم المدرس", "المعلم", "هاتف المدرس", "teacher", "teacher name", "teacher phone"),
        required=True,
        example="أ. محمود سالم",
    ),
    Column("subject", gettext_lazy("Subject"), "المادة", ("subject",), example="رياضيات"),
    Column("grade", gettext_lazy("Grade"), "الصف", ("الصف الدراسي", "grade"), example="الأول الثانوي"),
    Column(
        "fee", gettext_lazy("Fee (EGP)"), "الرسوم", ("السعر", "المصاريف", "fee", "price"), required=True, example="200"
    ),
    Column("fee_period", gettext_lazy("Fee period"), "نظام الدفع", ("الدفع", "fee period", "period"), example="شهري"),
    Column(
        "sessions_per_month",
        gettext_lazy("Sessions per month"),
        "عدد الحصص في الشهر",
        ("sessions per month",),
        example="4",
    ),
    Column("pay_scheme", gettext_lazy("Teacher pay scheme"), "نظام المحاسبة", ("نظام الأجر", "pay scheme")),
    Column("pay_rate", gettext_lazy("Teacher pay rate"), "النسبة أو المبلغ", ("الأجر", "النسبة", "pay rate")),
    Column("capacity", gettext_lazy("Capacity"), "السعة", ("العدد الأقصى", "capacity"), example="30"),
    Column(
        "room", gettext_lazy("Default room"), "القاعة", ("القاعة الافتراضية", "room", "default room"), example="قاعة 1"
    ),
    Column(
        "slots",
        gettext_lazy("Weekly slots"),
        "المواعيد",
        ("المواعيد الأسبوعية", "الجدول", "slots", "schedule", "timetable"),
        example="السبت 16:00 120؛ الثلاثاء 16:00 120",
    ),
)

PAY_SCHEME_ALIASES = {
    "percent": ("نسبة", "نسبه", "%", "percentage"),
    "per_session": ("بالحصة", "مبلغ للحصة", "حصة", "per session"),
    "per_student": ("بالطالب", "للطالب", "طالب", "per student"),
}
FEE_PERIOD_ALIASES = {"month": ("شهري", "شهريا", "بالشهر", "monthly"), "session": ("بالحصة", "حصة", "per session")}
WEEKDAY_ALIASES = {
    0: ("السبت", "سبت", "sat", "saturday"),
    1: ("الأحد", "الاحد", "احد", "sun", "sunday"),
    2: ("الاثنين", "الإثنين", "اثنين", "الاتنين", "mon", "monday"),
    3: ("الثلاثاء", "الثلاثا", "التلات", "tue", "tuesday"),
    4: ("الأربعاء", "الاربعاء", "الاربع", "wed", "wednesday"),
    5: ("الخميس", "خميس", "thu", "thursday"),
    6: ("الجمعة", "الجمعه", "جمعة", "fri", "friday"),
}


def column_title(column: Column) -> str:
    """The header to show for a column: the template's Arabic one in Arabic, else the label."""
    return column.arabic if (translation.get_language() or "").startswith("ar") else str(column.label)


def choice_map(choices, aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Folded spelling → value: the value itself, its label in English and Arabic, aliases."""
    mapping: dict[str, str] = {}
    for language in ("en", "ar"):
        with translation.override(language):
            for value, label in choices:
                mapping[header_key(str(label))] = value
    for value, _label in choices:
        mapping[header_key(value)] = value
    for value, spellings in aliases.items():
        for spelling in spellings:
            mapping[header_key(spelling)] = value
    return mapping
