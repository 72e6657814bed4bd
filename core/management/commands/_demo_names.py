"""The demo center's people and places (``manage.py demo_data``): Egyptian names (Muslim and
Coptic families), schools, subjects, class blocks and the staff logins. Demo DATA, not interface
text, which is why the Arabic is written here and not in the translation catalogue."""

from dataclasses import dataclass

from core.access.roles import Role
from core.models import Grade

CENTER_NAME_AR = "سنتر النجاح التعليمي"
CENTER_NAME_EN = "Al Najah Center"
SECOND_BRANCH = {"name_ar": "فرع مدينة نصر", "name_en": "Nasr City branch", "phone": "+20222615000"}

MALE_NAMES = [
    "محمد", "أحمد", "احمد", "محمود", "مصطفى", "عمر", "علي", "يوسف", "إبراهيم", "ابراهيم", "خالد", "حسن",
    "حسين", "عبد الرحمن", "عبد الله", "كريم", "طارق", "ياسين", "مروان", "زياد", "آدم", "ادم", "إسلام",
    "اسلام", "شريف", "أيمن", "عمرو", "حازم", "أنس", "سيف", "مازن", "بلال", "حمزة", "حمزه", "معاذ", "فارس",
    "يحيى", "يحيي", "أدهم", "مالك", "نور الدين", "عبد الرحمن", "هشام", "تامر",
]  # fmt: skip
FEMALE_NAMES = [
    "فاطمة", "فاطمه", "مريم", "نور", "سارة", "ساره", "منة الله", "منه الله", "هبة", "هبه", "ملك", "جنى",
    "رحمة", "رحمه", "آية", "ايه", "ياسمين", "سلمى", "حبيبة", "حبيبه", "شهد", "رنا", "ندى", "مي", "دينا",
    "إيمان", "ايمان", "أسماء", "اسماء", "نورهان", "خديجة", "زينب", "روان", "فرح", "جنة", "ليلى", "ليلي",
]  # fmt: skip
FATHER_NAMES = [
    "محمد", "أحمد", "محمود", "مصطفى", "السيد", "سيد", "عبد الحميد", "عبد العزيز", "إبراهيم", "حسن", "علي",
    "خالد", "طارق", "عادل", "أشرف", "اشرف", "سامي", "جمال", "صلاح", "ناصر", "مجدي", "وائل", "هشام", "عماد",
    "رضا", "شعبان", "رمضان", "عبد الناصر", "عصام", "ياسر", "حمدي", "فتحي",
]  # fmt: skip
MOTHER_NAMES = [
    "منى", "هالة", "هاله", "نادية", "ناديه", "سحر", "عبير", "أمل", "امل", "رشا", "داليا", "هدى", "سامية",
    "وفاء", "نجلاء", "غادة", "غاده", "شيماء", "رانيا", "مروة", "مروه", "نهى", "إيناس", "عزة",
]  # fmt: skip
FAMILY_NAMES = [
    "الشريف", "عبد الفتاح", "المصري", "حسانين", "السيد", "الشافعي", "النجار", "الحداد", "عبد العال",
    "منصور", "سليمان", "عثمان", "البنا", "الجمال", "رزق", "فهمي", "شحاتة", "شحاته", "زكي", "القاضي",
    "مرسي", "يونس", "بدوي", "الصاوي", "غنيم", "درويش", "الدسوقي", "عيسى", "عبد الله", "الأنصاري",
    "الانصاري", "حجازي", "رشوان", "الطنطاوي", "أبو زيد", "ابو زيد", "الفقي", "سالم",
]  # fmt: skip
# Coptic families: names that go together.
COPTIC_MALE = ["مينا", "بيتر", "كيرلس", "مارك", "أبانوب", "ابانوب", "جورج", "بيشوي", "مايكل"]
COPTIC_FEMALE = ["مارينا", "كارين", "ماريان", "مريم", "إيريني", "ايريني", "فيرونيا", "جوستينا"]
COPTIC_FATHERS = ["جرجس", "عادل", "ماجد", "سمير", "رأفت", "نبيل", "عماد", "مجدي", "صبحي"]
COPTIC_MOTHERS = ["ماجدة", "نادية", "إيفون", "سوزان", "مرفت", "عايدة"]
COPTIC_FAMILIES = ["حنا", "عبد المسيح", "بطرس", "ميخائيل", "غالي", "تادرس", "شنودة"]
SCHOOLS = [
    "مدرسة السعيدية الثانوية", "مدرسة الأورمان النموذجية", "مدرسة النصر للبنين", "مدرسة الشهيد أحمد حمدي",
    "مدرسة مصر الجديدة للغات", "مدرسة الإبراهيمية", "مدرسة طلعت حرب الرسمية", "مدرسة الخديوية",
    "مدرسة جمال عبد الناصر التجريبية", "مدرسة النيل الدولية", "مدرسة الفسطاط", "مدرسة راهبات القلب المقدس",
    "مدرسة عمر مكرم الإعدادية", "مدرسة الزهراء للبنات", "مدرسة الحرية للغات",
]  # fmt: skip
REDUCED_REASONS = ["إخوة في السنتر", "ظروف مادية", "ابن أحد العاملين", "خصم مجموعة أصدقاء", "متفوق"]
EXEMPT_REASONS = ["يتيم", "منحة تفوق", "ابن مدرس بالسنتر", "ظروف خاصة"]

GRADE_LABELS = {
    Grade.PREP_1: "الأول الإعدادي",
    Grade.PREP_2: "الثاني الإعدادي",
    Grade.PREP_3: "الثالث الإعدادي",
    Grade.SECONDARY_1: "الأول الثانوي",
    Grade.SECONDARY_2: "الثاني الثانوي",
    Grade.SECONDARY_3: "الثالث الثانوي",
}
PREP = [Grade.PREP_1, Grade.PREP_2, Grade.PREP_3]
SECONDARY = [Grade.SECONDARY_1, Grade.SECONDARY_2, Grade.SECONDARY_3]


@dataclass(frozen=True)
class Subject:
    name: str
    code: str
    grades: tuple[str, ...]


# Twelve teachers, one subject each (two for the subjects most in demand).
TEACHER_SUBJECTS = [
    Subject("رياضيات", "MATH", (*PREP, *SECONDARY)),
    Subject("فيزياء", "PHY", tuple(SECONDARY)),
    Subject("كيمياء", "CHEM", tuple(SECONDARY)),
    Subject("أحياء", "BIO", tuple(SECONDARY)),
    Subject("لغة عربية", "AR", (*PREP, *SECONDARY)),
    Subject("لغة إنجليزية", "EN", (*PREP, *SECONDARY)),
    Subject("لغة فرنسية", "FR", tuple(SECONDARY)),
    Subject("تاريخ", "HIS", tuple(SECONDARY)),
    Subject("جغرافيا", "GEO", tuple(SECONDARY)),
    Subject("علوم", "SCI", tuple(PREP)),
    Subject("رياضيات", "MATH", tuple(SECONDARY)),
    Subject("لغة إنجليزية", "EN", tuple(SECONDARY)),
]
GROUP_LETTERS = ["أ", "ب", "ج", "د", "هـ", "و", "ز", "ح"]

# Class blocks of up to 120 minutes with the 15-minute turnover after each; weekend mornings too.
# The week starts on Saturday (0); Friday (6) starts after the midday prayer.
WEEKDAY_BLOCKS = ["13:00", "15:15", "17:30", "19:45"]
WEEKEND_BLOCKS = {0: ["09:00", "11:15", *WEEKDAY_BLOCKS], 6: ["15:15", "17:30", "19:45"]}
# Two-slot groups meet on days this far apart (Sat/Tue, Sun/Wed, …).
SECOND_SLOT_GAP = 3

# Staff logins: username, role, first name, last name, branch indexes (0 = main, 1 = second).
STAFF = [
    ("manager", Role.MANAGER, "هشام", "البدري", (0, 1)),
    ("reception1", Role.RECEPTIONIST, "ريهام", "سعيد", (0,)),
    ("reception2", Role.RECEPTIONIST, "محمد", "عبد الغني", (1,)),
    ("accountant", Role.ACCOUNTANT, "سامح", "لبيب", (0, 1)),
    ("door1", Role.SUPERVISOR, "عم صابر", "حسن", (0,)),
    ("door2", Role.SUPERVISOR, "رجب", "عطية", (1,)),
    ("teacher1", Role.TEACHER, "", "", (0,)),
    ("teacher2", Role.TEACHER, "", "", (0,)),
]
