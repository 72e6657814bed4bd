"""The student import's gender column (issue 14): ذكر/أنثى (or their English and common spellings)
set the student's gender; empty leaves a new student male; anything else is a row error."""

import pytest

from core.imports.engine import import_run
from core.models import Student
from tests.import_sheets import xlsx_bytes

pytestmark = pytest.mark.django_db

HEADER = ["اسم الطالب", "هاتف ولي الأمر", "النوع"]


def run(main_branch, receptionist, rows, *, apply=True):
    return import_run(
        data=xlsx_bytes([HEADER, *rows]), file_name="students.xlsx", branch=main_branch, actor=receptionist, apply=apply
    )


def test_the_gender_column_sets_each_students_gender(main_branch, receptionist):
    result = run(
        main_branch,
        receptionist,
        [
            ["سارة علي", "01001230001", "أنثى"],
            ["عمر علي", "01001230002", "ذكر"],
            ["منى حسن", "01001230003", "بنت"],
            ["Laila", "01001230004", "Female"],
            ["هادي", "01001230005", ""],
        ],
    )
    assert result.file_error == "" and not result.issues()
    genders = dict(Student.objects.values_list("full_name", "gender"))
    assert genders == {"سارة علي": "female", "عمر علي": "male", "منى حسن": "female", "Laila": "female", "هادي": "male"}


def test_an_unknown_gender_is_a_row_error_and_nothing_is_saved(main_branch, receptionist):
    result = run(main_branch, receptionist, [["سارة علي", "01001230001", "؟"], ["عمر علي", "01001230002", "ذكر"]])
    (issue,) = result.issues()
    assert issue[0] == 2 and issue[1] == "النوع" and "؟" in issue[2]
    assert not Student.objects.exists()


def test_a_file_without_the_column_still_imports_male_students(main_branch, receptionist):
    result = import_run(
        data=xlsx_bytes([HEADER[:2], ["عمر علي", "01001230002"]]),
        file_name="students.xlsx",
        branch=main_branch,
        actor=receptionist,
        apply=True,
    )
    assert not result.issues()
    assert Student.objects.get().gender == "male"
