"""``manage.py import_students``: same engine, a summary, non-zero exit on any failed row."""

import pytest
from django.core.management import CommandError, call_command

from core.models import Student
from tests.factories import make_branch, make_group, make_student
from tests.import_sheets import FIXTURE, clean_rows, messy_rows, xlsx_bytes


@pytest.fixture
def center(main_branch):
    make_group(main_branch, code="M1")
    make_group(main_branch, code="P2")
    make_student(main_branch, name="فاطمة حسن", guardian_phone="01001112222")
    make_student(main_branch, name="يوسف أيمن", guardian_phone="01001113333", code="5005")
    return main_branch


def test_the_committed_fixture_is_the_messy_sheet():
    from openpyxl import load_workbook

    committed = [list(row) for row in load_workbook(FIXTURE).worksheets[0].iter_rows(values_only=True)]
    assert committed == [[cell if cell != "" else None for cell in row] for row in messy_rows()]


def test_dry_run_prints_a_summary_and_writes_nothing(center, tmp_path, capsys):
    path = tmp_path / "students.xlsx"
    path.write_bytes(xlsx_bytes(clean_rows()))
    call_command("import_students", str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "8" in out and "10" in out
    assert Student.objects.count() == 2


def test_dry_run_shows_a_duplicate_row_and_counts_it(center, tmp_path, capsys):
    path = tmp_path / "twice.xlsx"
    rows = [["اسم الطالب", "هاتف ولي الأمر"], ["عمر خالد", "01001230000"], ["عمر خالد", "01001230000"]]
    path.write_bytes(xlsx_bytes(rows))
    call_command("import_students", str(path), "--dry-run")  # a duplicate does not fail the file
    out = capsys.readouterr().out
    assert "الصف 3 (عمر خالد): مكرر للصف 2، تُرك." in out
    assert "1 مكرر (يُترك)" in out
    assert Student.objects.count() == 2
    call_command("import_students", str(path))
    assert Student.objects.filter(full_name="عمر خالد").count() == 1


def test_import_writes_and_reimport_is_unchanged(center, tmp_path, capsys):
    path = tmp_path / "students.csv"
    path.write_bytes(xlsx_bytes(clean_rows()))
    path = path.rename(tmp_path / "students.xlsx")
    call_command("import_students", str(path))
    assert Student.objects.count() == 10
    call_command("import_students", str(path), "--branch", str(center.pk))
    assert Student.objects.count() == 10


def test_any_failed_row_exits_non_zero_and_writes_nothing(center, capsys):
    with pytest.raises(CommandError) as raised:
        call_command("import_students", str(FIXTURE))
    assert raised.value.returncode == 1
    err = capsys.readouterr().err
    assert "Z99" in err and "10" in err  # the row number of the unknown group
    assert Student.objects.count() == 2


def test_a_bad_file_and_an_unknown_branch_fail(center, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(CommandError):
        call_command("import_students", str(path))
    with pytest.raises(CommandError):
        call_command("import_students", str(FIXTURE), "--branch", "nowhere")
    with pytest.raises(CommandError):
        call_command("import_students", str(tmp_path / "missing.xlsx"))


def test_branch_by_name(center, tmp_path):
    other = make_branch("فرع المعادي")
    path = tmp_path / "one.xlsx"
    path.write_bytes(xlsx_bytes([["اسم الطالب", "هاتف ولي الأمر"], ["عمر", "01001230000"]]))
    call_command("import_students", str(path), "--branch", "فرع المعادي")
    assert Student.objects.get(full_name="عمر").branch == other
