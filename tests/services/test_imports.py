"""The student import engine: normalization, per-row outcomes, all-or-nothing, bad files."""

import io
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import IntegrityError
from django.utils import translation
from openpyxl import load_workbook

from core.imports.engine import import_run
from core.imports.resources import StudentResource
from core.imports.writers import template_workbook
from core.models import AuditLog, Counter, Enrollment, FeePlan, Guardian, Student, StudentGuardian
from core.normalize import digits_ascii
from tests.factories import make_group, make_student
from tests.import_sheets import MESSY_EXPECTED, clean_rows, csv_bytes, messy_rows, xlsx_bytes


@pytest.fixture
def center(main_branch, receptionist):
    make_group(main_branch, code="M1")
    make_group(main_branch, code="P2")
    fatma = make_student(main_branch, name="فاطمة حسن", guardian_phone="01001112222")
    youssef = make_student(main_branch, name="يوسف أيمن", guardian_phone="01001113333", code="5005")
    return {"branch": main_branch, "actor": receptionist, "fatma": fatma, "youssef": youssef}


@pytest.fixture
def english():
    with translation.override("en"):
        yield


def run(center, data: bytes, *, apply: bool, name: str = "students.xlsx"):
    return import_run(data=data, file_name=name, branch=center["branch"], actor=center["actor"], apply=apply)


def table_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def test_messy_sheet_gets_the_expected_outcome_for_every_row(center):
    result = run(center, xlsx_bytes(messy_rows()), apply=False)
    assert result.file_error == ""
    outcomes = {row.number: (row.action, row.errors[0][0] if row.errors else "") for row in result.rows}
    assert outcomes == MESSY_EXPECTED
    assert result.blank_rows == 1
    assert result.ignored_columns == ["العنوان"]
    assert result.counts == {"new": 8, "update": 1, "unchanged": 1, "duplicate": 0, "error": 4}


def test_each_error_names_row_column_and_reason(center):
    result = run(center, xlsx_bytes(messy_rows()), apply=False)
    issues = {number: (column, message) for number, column, message in result.issues()}
    assert "0100123" in issues[8][1]
    assert "5005" in issues[9][1] and "يوسف أيمن" in issues[9][1]
    assert "Z99" in issues[10][1]
    assert "HYPERLINK" in issues[11][1]


def test_a_sheet_with_errors_writes_nothing(center):
    before = table_counts()
    result = run(center, xlsx_bytes(messy_rows()), apply=True)
    assert not result.applied
    assert table_counts() == before


def test_a_failure_while_writing_rolls_everything_back(center, monkeypatch):
    before = table_counts()

    from core.imports import writing

    original = writing.rows_insert

    def fails_at_enrollments(instances, *args, **kwargs):
        if instances and isinstance(instances[0], Enrollment):  # students, guardians and links are written by now
            raise IntegrityError("simulated")
        return original(instances, *args, **kwargs)

    monkeypatch.setattr(writing, "rows_insert", fails_at_enrollments)
    result = run(center, xlsx_bytes(clean_rows()), apply=True)
    assert not result.applied and result.file_error
    assert table_counts() == before


def test_clean_sheet_imports_students_guardians_and_enrollments(center):
    result = run(center, xlsx_bytes(clean_rows()), apply=True)
    assert result.applied and result.counts == {"new": 8, "update": 1, "unchanged": 1, "duplicate": 0, "error": 0}

    ahmed = Student.objects.get(full_name="أحمد محمد")  # trimmed, inner spaces collapsed
    assert ahmed.grade == "s1" and ahmed.school == "مدرسة النور"
    assert list(ahmed.guardians.values_list("phone", "full_name")) == [("+201001234567", "محمد علي")]
    mariam = Student.objects.get(full_name="مريم محمد")
    assert list(mariam.guardians.values_list("phone", flat=True)) == ["+201001234567"]  # siblings share
    assert Guardian.objects.filter(phone="+201001234567").count() == 1
    assert StudentGuardian.objects.filter(guardian__phone="+201001234567", is_primary=True).count() == 2

    esraa = Student.objects.get(full_name="إسراء سعيد")
    assert sorted(esraa.enrollments.values_list("group__code", flat=True)) == ["M1", "P2"]
    alaa = Enrollment.objects.get(student__full_name="علاء مصطفى")
    assert (alaa.fee_plan, alaa.custom_fee, alaa.fee_reason) == (FeePlan.REDUCED, Decimal("150.00"), "أخوان")
    assert Enrollment.objects.get(student__full_name="هدى إبراهيم").fee_plan == FeePlan.EXEMPT

    phones = set(Guardian.objects.values_list("phone", flat=True))
    assert {f"+2010012345{n}" for n in (67, 68, 72, 73, 74, 75, 76)} <= phones

    fatma = center["fatma"]
    assert Student.objects.filter(search_key=fatma.search_key).count() == 1  # no twin
    assert list(fatma.enrollments.values_list("group__code", flat=True)) == ["M1"]
    assert AuditLog.objects.filter(model="core.student", action="create", actor=center["actor"]).count() >= 8
    entry = AuditLog.objects.get(model="core.student", object_id=str(ahmed.pk))
    assert entry.changes["full_name"] == [None, "أحمد محمد"] and entry.changes["groups"] == [None, ["M1"]]
    assert entry.at is not None


def test_new_codes_are_gap_free_after_the_counter(center):
    run(center, xlsx_bytes(clean_rows()), apply=True)
    codes = sorted(
        int(code)
        for code in Student.objects.exclude(pk__in=[center["fatma"].pk, center["youssef"].pk]).values_list(
            "code", flat=True
        )
    )
    assert codes == list(range(1002, 1010))  # فاطمة took 1001
    assert Counter.objects.get(key="student_code").value == 1009


def test_reimporting_the_same_file_changes_nothing(center):
    data = xlsx_bytes(clean_rows())
    run(center, data, apply=True)
    before = table_counts()
    again = run(center, data, apply=True)
    assert again.counts == {"new": 0, "update": 0, "unchanged": 10, "duplicate": 0, "error": 0}
    assert table_counts() == before


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1256"])
def test_csv_in_every_encoding_reads_the_same(center, encoding):
    # Windows-1256 has no Persian digits: that sheet types them in ASCII
    rows = [
        [digits_ascii(cell) if isinstance(cell, str) and encoding == "cp1256" else cell for cell in row]
        for row in clean_rows()
    ]
    result = run(center, csv_bytes(rows, encoding=encoding), apply=False, name="students.csv")
    assert result.file_error == ""
    assert result.counts == {"new": 8, "update": 1, "unchanged": 1, "duplicate": 0, "error": 0}


def test_english_headers_are_accepted(center):
    rows = [["Full name", "Guardian phone", "Group codes"], ["Omar Khaled", "01001230000", "M1"]]
    result = run(center, xlsx_bytes(rows), apply=True)
    assert result.applied and Student.objects.filter(full_name="Omar Khaled").exists()


def test_semicolon_csv_with_a_title_line_and_lower_case_group_codes(center, main_branch):
    make_group(main_branch, code="bio-1")
    data = "كشف الطلاب\nاسم الطالب;هاتف ولي الأمر;المجموعات\nعمر;01001230000;BIO-1\n".encode("cp1256")
    result = run(center, data, apply=True, name="students.csv")
    assert result.applied and [row.action for row in result.rows] == ["new"]
    assert Student.objects.get(full_name="عمر").enrollments.get().group.code == "bio-1"


def test_title_rows_above_the_header_are_skipped(center):
    rows = [["كشف طلاب سنتر النور"], [], ["اسم الطالب", "هاتف ولي الأمر"], ["عمر خالد", "01001230000"]]
    result = run(center, xlsx_bytes(rows), apply=False)
    assert [(row.number, row.action) for row in result.rows] == [(4, "new")]


def test_a_row_repeating_an_earlier_row_is_a_duplicate_and_skipped_while_the_others_apply(center, english):
    rows = [
        ["اسم الطالب", "هاتف ولي الأمر", "المدرسة"],
        ["عمر خالد", "01001230000", "مدرسة النور"],
        ["سارة خالد", "01001230000", ""],
        ["عُمَر  خالد", "+201001230000", "مدرسة أخرى"],  # row 2 again: diacritics, spaces, phone form
        ["فاطمه حسن", "01001112222", "مدرسة النيل"],  # the existing فاطمة حسن
        ["فاطمة  حسن", "00201001112222", "مدرسة ثالثة"],  # row 5 again
    ]
    check = run(center, xlsx_bytes(rows), apply=False)
    assert [(row.number, row.action) for row in check.rows] == [
        (2, "new"),
        (3, "new"),
        (4, "duplicate"),
        (5, "update"),
        (6, "duplicate"),
    ]
    assert check.ok and check.rows[2].errors == [] and check.rows[4].errors == []
    assert check.rows[2].note == "duplicate of row 2" and check.rows[4].note == "duplicate of row 5"
    assert check.rows[2].as_json()["m"] == "duplicate of row 2"
    assert check.counts == {"new": 2, "update": 1, "unchanged": 0, "duplicate": 2, "error": 0}

    result = run(center, xlsx_bytes(rows), apply=True)
    assert result.applied
    omar = Student.objects.get(search_key="عمر خالد")  # one student, from the first row
    assert omar.school == "مدرسة النور"
    assert Student.objects.filter(full_name="سارة خالد").exists()
    fatma = center["fatma"]
    fatma.refresh_from_db()
    assert fatma.school == "مدرسة النيل"
    assert Student.objects.count() == 4  # فاطمة, يوسف, عمر, سارة
    assert AuditLog.objects.filter(model="core.student", actor=center["actor"]).count() == 3


def test_a_row_repeating_an_earlier_rows_code_is_a_duplicate(center, english):
    rows = [
        ["الكود", "اسم الطالب", "هاتف ولي الأمر"],
        ["7001", "عمر خالد", "01001230000"],
        ["٧٠٠١", "عمر خالد محمود", "01001230001"],
    ]
    result = run(center, xlsx_bytes(rows), apply=True)
    assert [row.action for row in result.rows] == ["new", "duplicate"]
    assert result.rows[1].note == "duplicate of row 2"
    assert result.applied and Student.objects.filter(code="7001").count() == 1


def test_two_rows_matching_one_existing_student_update_him_once(center, english):
    # by code (with his mother's phone) in one row, by name and his father's phone in the other
    rows = [
        ["الكود", "اسم الطالب", "هاتف ولي الأمر", "المدرسة"],
        ["5005", "يوسف أيمن", "01201113333", "مدرسة النور"],
        ["", "يوسف ايمن", "01001113333", "مدرسة أخرى"],
    ]
    result = run(center, xlsx_bytes(rows), apply=True)
    assert [row.action for row in result.rows] == ["update", "duplicate"]
    assert result.rows[1].note == "duplicate of row 2"
    youssef = center["youssef"]
    youssef.refresh_from_db()
    assert youssef.school == "مدرسة النور"
    assert sorted(youssef.guardians.values_list("phone", flat=True)) == ["+201001113333", "+201201113333"]


def test_a_row_matching_an_existing_student_updates_him_and_names_him(center, english):
    fatma = center["fatma"]
    rows = [["اسم الطالب", "هاتف ولي الأمر", "المدرسة"], ["فاطمه حسن", "+20 100 111 2222", "مدرسة النيل"]]
    check = run(center, xlsx_bytes(rows), apply=False)
    assert [row.action for row in check.rows] == ["update"]
    assert check.rows[0].note == f"same student as {fatma.code} — {fatma.full_name}"
    run(center, xlsx_bytes(rows), apply=True)
    assert Student.objects.filter(search_key=fatma.search_key).count() == 1  # no twin
    fatma.refresh_from_db()
    assert fatma.school == "مدرسة النيل"
    again = run(center, xlsx_bytes(rows), apply=False)
    assert [(row.action, row.note) for row in again.rows] == [
        ("unchanged", f"same student as {fatma.code} — {fatma.full_name}")
    ]


def test_a_duplicate_row_with_its_own_error_stays_an_error(center):
    rows = [
        ["اسم الطالب", "هاتف ولي الأمر", "الصف"],
        ["عمر خالد", "01001230000", ""],
        ["عمر خالد", "01001230000", "الصف العاشر"],  # no such grade
    ]
    result = run(center, xlsx_bytes(rows), apply=False)
    assert [row.action for row in result.rows] == ["new", "error"]
    assert not result.ok


def test_a_student_of_a_branch_the_user_does_not_work_in_is_an_error(center):
    from tests.factories import make_branch

    make_student(make_branch(), name="طالب بعيد", guardian_phone="01009990000")
    rows = [["اسم الطالب", "هاتف ولي الأمر", "المدرسة"], ["طالب بعيد", "01009990000", "مدرسة جديدة"]]
    result = run(center, xlsx_bytes(rows), apply=False)  # the receptionist works in the main branch
    assert [(row.action, row.errors[0][0]) for row in result.rows] == [("error", "اسم الطالب")]
    as_operator = import_run(data=xlsx_bytes(rows), file_name="x.xlsx", branch=center["branch"], apply=False)
    assert [row.action for row in as_operator.rows] == ["update"]  # the command sees every branch


def test_an_inactive_student_is_not_enrolled(center):
    Student.objects.filter(pk=center["fatma"].pk).update(is_active=False)
    rows = [["اسم الطالب", "هاتف ولي الأمر", "المجموعات"], ["فاطمة حسن", "01001112222", "M1"]]
    result = run(center, xlsx_bytes(rows), apply=False)
    assert [(row.action, row.errors[0][0]) for row in result.rows] == [("error", "المجموعات")]


def test_full_group_is_a_row_error(center, main_branch):
    make_group(main_branch, code="S1", capacity=1)
    rows = [["اسم الطالب", "هاتف ولي الأمر", "المجموعات"], ["عمر", "01001230000", "S1"], ["خالد", "01001230001", "S1"]]
    result = run(center, xlsx_bytes(rows), apply=False)
    assert [row.action for row in result.rows] == ["new", "error"]


def test_reduced_plan_without_fee_is_a_row_error(center):
    rows = [["اسم الطالب", "هاتف ولي الأمر", "المجموعات", "نظام الرسوم"], ["عمر", "01001230000", "M1", "مخفض"]]
    result = run(center, xlsx_bytes(rows), apply=False)
    columns = [column for column, _message in result.rows[0].errors]
    assert columns == ["الرسوم المخفضة", "سبب التخفيض أو الإعفاء"]


# --- the whole file is refused, clearly, and nothing is written ---------------------------------


def _refused(center, data: bytes, name: str) -> str:
    before = table_counts()
    result = run(center, data, apply=True, name=name)
    assert not result.applied and result.file_error and not result.rows
    assert table_counts() == before
    return result.file_error


def test_missing_required_column_is_a_file_error(center):
    rows = [["اسم الطالب", "الصف"], ["عمر", "1 ثانوي"]]
    assert "هاتف ولي الأمر" in _refused(center, xlsx_bytes(rows), "a.xlsx")


def test_not_a_spreadsheet(center):
    _refused(center, b"%PDF-1.4 binary\x00\x01\x02", "scan.pdf")


def test_corrupt_xlsx(center):
    data = xlsx_bytes(clean_rows())
    _refused(center, data[: len(data) // 2], "broken.xlsx")
    _refused(center, b"this is not a zip file", "fake.xlsx")


def test_empty_file(center):
    _refused(center, b"", "empty.csv")
    _refused(center, b"\n\n", "blank.csv")


def test_file_over_the_size_limit(center):
    _refused(center, b"a,b\n" * (30 * 1024 * 1024 // 4), "huge.csv")


def test_100000_rows_are_refused_without_reading_them_all(center):
    rows = [["اسم الطالب", "هاتف ولي الأمر"]] + [[f"طالب {n}", f"0100{n:07d}"] for n in range(100_000)]
    message = _refused(center, csv_bytes(rows), "many.csv")
    assert "20,000" in message


def test_a_header_merged_over_columns_with_their_own_headers_under_it_is_read(center):
    rows = [["اسم الطالب", "ولي الأمر", ""], ["", "الاسم", "الهاتف"], ["عمر", "خالد", "01001230000"]]
    result = run(center, xlsx_bytes(rows, merge="B1:C1"), apply=True, name="merged.xlsx")
    assert result.applied and [row.number for row in result.rows] == [3]
    omar = Student.objects.get(full_name="عمر")
    assert omar.guardian_links.get().guardian.full_name == "خالد"


def test_a_merged_header_that_cannot_be_read_is_named(center):
    rows = [["اسم الطالب", "ولي الأمر", ""], ["", "شيء", "آخر"], ["عمر", "خالد", "01001230000"]]
    message = _refused(center, xlsx_bytes(rows, merge="B1:C1"), "merged.xlsx")
    assert "B1:C1" in message


def test_a_workbook_that_unpacks_to_a_flood_is_refused(center):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as entry:
            chunk = b"<" * (1024 * 1024)
            for _ in range(210):
                entry.write(chunk)
    assert len(buffer.getvalue()) < 1024 * 1024
    assert "200 MB" in _refused(center, buffer.getvalue(), "bomb.xlsx")


def test_old_xls_is_refused_with_advice(center):
    assert ".xlsx" in _refused(center, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls")


# --- template and exports ---------------------------------------------------------------------


def test_template_has_arabic_headers_an_example_and_lists(center):
    workbook = load_workbook(io.BytesIO(template_workbook()))
    sheet = workbook.worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    assert headers[:3] == ["الكود", "اسم الطالب", "هاتف الطالب"]
    assert sheet.cell(row=2, column=2).value == "أحمد محمد علي"
    assert len(sheet.data_validations.dataValidation) == 2
    # the template itself imports: its example row is a valid new student
    result = run(center, template_workbook(), apply=False)
    assert [row.action for row in result.rows] == ["new"]


def _export(fmt: str) -> bytes:
    from core.admin.exports import rows_csv, rows_xlsx

    dataset = StudentResource().export(queryset=Student.objects.all(), force_native_type=True)
    if fmt == "csv":
        return ("\ufeff" + rows_csv(dataset.headers, dataset)).encode("utf-8")
    return rows_xlsx(dataset.headers, dataset, title="students")


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_then_import_is_lossless(center, fmt):
    run(center, xlsx_bytes(clean_rows()), apply=True)
    student = Student.objects.get(full_name="أحمد محمد")
    student.notes = "=1+1 @ملاحظة"  # a formula-looking note survives as text
    student.save()
    before = table_counts()
    snapshot = list(Student.objects.order_by("pk").values())
    result = run(center, _export(fmt), apply=True, name=f"export.{fmt}")
    assert result.file_error == ""
    assert {row.action for row in result.rows} == {"unchanged"}, [
        r.as_json() for r in result.rows if r.action != "unchanged"
    ]
    assert table_counts() == before
    assert list(Student.objects.order_by("pk").values()) == snapshot


def test_mixed_fee_plans_survive_export_and_a_sheet_without_plans(center):
    from core.services.enrollments import enrollment_change_plan

    run(center, xlsx_bytes(clean_rows()), apply=True)
    esraa = Student.objects.get(full_name="إسراء سعيد")  # in M1 and P2
    enrollment_change_plan(
        actor=None, enrollment=esraa.enrollments.get(group__code="P2"), fee_plan="exempt", fee_reason="يتيم"
    )
    plans = sorted(Enrollment.objects.values_list("student_id", "group_id", "fee_plan", "custom_fee", "fee_reason"))
    result = run(center, _export("xlsx"), apply=True, name="export.xlsx")
    assert {row.action for row in result.rows} == {"unchanged"}
    no_plan_column = [[row[1], row[2], row[6]] for row in clean_rows()]  # name, guardian phone, groups
    result = run(center, xlsx_bytes(no_plan_column), apply=True)
    assert {row.action for row in result.rows} == {"unchanged"}
    assert (
        sorted(Enrollment.objects.values_list("student_id", "group_id", "fee_plan", "custom_fee", "fee_reason"))
        == plans
    )


def test_export_neutralizes_formula_cells_in_csv_and_writes_them_as_text_in_xlsx(center):
    import csv

    student = center["fatma"]
    student.school = "=cmd|' /C calc'!A0"
    student.save()
    Student.objects.exclude(pk=student.pk).delete()
    rows = list(csv.reader(io.StringIO(_export("csv").decode("utf-8-sig"))))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["المدرسة"].startswith("'=")
    assert row["هاتف ولي الأمر"] == "'+201001112222"
    sheet = load_workbook(io.BytesIO(_export("xlsx"))).worksheets[0]
    cells = {header.value: cell for header, cell in zip(sheet[1], sheet[2], strict=True)}
    assert cells["المدرسة"].value == "=cmd|' /C calc'!A0" and cells["المدرسة"].data_type == "s"
    assert cells["هاتف ولي الأمر"].value == "+201001112222" and cells["هاتف ولي الأمر"].data_type == "s"


# --- teachers and groups with their slots -------------------------------------------------------


def _teachers_and_groups(center, *, apply: bool):
    from tests.factories import make_room

    make_room(center["branch"], name="قاعة 1")
    make_room(center["branch"], name="قاعة 2")
    teachers = [
        ["اسم المدرس", "الهاتف", "المادة", "نظام المحاسبة", "النسبة أو المبلغ"],
        ["أ. محمود سالم", "٠١٠٠٥٥٥٠٠٠١", "رياضيات", "نسبة", "70"],
        ["أ. سعاد", "01005550002", "كيمياء", "بالحصة", "150"],
        ["أ. خطأ", "0100", "", "", ""],
    ]
    groups = [
        ["كود المجموعة", "اسم المجموعة", "المدرس", "الرسوم", "نظام الدفع", "القاعة", "المواعيد"],
        ["math-1", "رياضيات أولى", "أ. محمود سالم", "200", "شهري", "قاعة 1", "السبت 16:00 120؛ الثلاثاء 16:00"],
        ["CHEM-1", "كيمياء", "01005550002", "50", "بالحصة", "", "الأحد 18:00 90 قاعة 2"],
        # same room, same time as math-1 on Saturday: refused, naming the other group
        ["CHEM-2", "كيمياء 2", "01005550002", "50", "بالحصة", "قاعة 1", "السبت 16:30"],
    ]
    first = import_run(
        kind="teachers",
        data=xlsx_bytes(teachers[:3]),
        file_name="t.xlsx",
        branch=center["branch"],
        actor=center["actor"],
        apply=apply,
    )
    bad = import_run(
        kind="teachers", data=xlsx_bytes(teachers), file_name="t.xlsx", branch=center["branch"], actor=None, apply=False
    )
    second = import_run(
        kind="groups",
        data=xlsx_bytes(groups),
        file_name="g.xlsx",
        branch=center["branch"],
        actor=center["actor"],
        apply=apply,
    )
    return first, bad, second, groups


def test_teachers_and_groups_import_with_their_slots(center):
    from core.models import Group, ScheduleSlot, Teacher

    teachers, bad, groups, rows = _teachers_and_groups(center, apply=True)
    assert teachers.applied and teachers.counts["new"] == 2
    assert Teacher.objects.get(phone="+201005550001").full_name == "أ. محمود سالم"
    assert [row.action for row in bad.rows] == ["unchanged", "unchanged", "error"]
    assert [row.action for row in groups.rows] == ["new", "new", "error"]
    assert "MATH-1" in groups.rows[2].errors[0][1]
    assert not groups.applied and not Group.objects.filter(code__in=["MATH-1", "CHEM-1"]).exists()

    fixed = import_run(
        kind="groups",
        data=xlsx_bytes(rows[:3]),
        file_name="g.xlsx",
        branch=center["branch"],
        actor=center["actor"],
        apply=True,
    )
    assert fixed.applied
    math = Group.objects.get(code="MATH-1")
    assert (math.fee, math.teacher.subject, math.default_room.name) == (Decimal("200.00"), "رياضيات", "قاعة 1")
    assert sorted(ScheduleSlot.objects.filter(group=math).values_list("weekday", "duration_minutes")) == [
        (0, 120),
        (3, 120),
    ]
    chem = Group.objects.get(code="CHEM-1")
    assert chem.fee_period == "session" and chem.slots.get().room.name == "قاعة 2"
    again = import_run(
        kind="groups",
        data=xlsx_bytes(rows[:3]),
        file_name="g.xlsx",
        branch=center["branch"],
        actor=center["actor"],
        apply=True,
    )
    assert [row.action for row in again.rows] == ["unchanged", "unchanged"]
    assert ScheduleSlot.objects.count() == 3


def test_checking_teachers_and_groups_writes_nothing(center):
    from tests.factories import make_teacher

    make_teacher("أ. محمود سالم")
    before = table_counts()
    _teachers, _bad, groups, _rows = _teachers_and_groups(center, apply=False)
    assert [row.action for row in groups.rows][:1] == ["new"]
    assert table_counts() == {**before, "core.Room": before["core.Room"] + 2}
