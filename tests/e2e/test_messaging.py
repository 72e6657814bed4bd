"""The messages pages in a browser: outbox, template live preview, broadcast preview, report."""

import datetime

import pytest

from core.models import CenterSettings, MessageTemplate
from core.services.enrollments import enrollment_create
from core.services.messaging import message_queue
from tests.factories import make_group, make_student

pytestmark = pytest.mark.e2e


@pytest.fixture
def classroom(main_branch):
    CenterSettings.objects.update_or_create(pk=1, defaults={"messaging_enabled": False})
    group = make_group(main_branch)
    for index, name in enumerate(["سارة علي", "منى حسن"]):
        student = make_student(main_branch, name=name, guardian_phone=f"0100111000{index}")
        enrollment_create(actor=None, student=student, group=group)
        message_queue(
            event=f"arrived:{student.pk}",
            guardian=student.guardians.get(),
            template="arrived",
            context={"group_name": group.name, "time": datetime.time(16, 30)},
            student=student,
        )
    return group


def test_outbox_template_preview_broadcast_and_report_work_in_the_browser(
    page, owner, staff_password, log_in, classroom, problems, screenshot
):
    log_in(page, owner.username, staff_password)

    page.goto("/admin/core/message/")
    page.wait_for_load_state("networkidle")
    assert page.locator("#result_list tbody tr").count() == 2
    assert page.locator(".msg-counts a").first.is_visible()
    screenshot(page, "outbox")

    template = MessageTemplate.objects.get(key="arrived")
    page.goto(f"/admin/core/messagetemplate/{template.pk}/change/")
    page.wait_for_load_state("networkidle")
    assert "ولي أمر أحمد محمود الفاضل" in page.locator("[data-preview-for=id_text_ar]").inner_text()
    page.fill("#id_text_ar", "وصل {student_name} الساعة {time}")
    preview = page.locator("[data-preview-for=id_text_ar]")
    assert preview.inner_text() == "وصل أحمد محمود الساعة 16:30"  # the sample values, as typed
    screenshot(page, "template")

    page.goto("/admin/core/message/broadcast/")
    page.select_option("#id_group", str(classroom.pk))
    page.fill("#id_text", "غدًا إجازة لـ {student_name}")
    page.click("button[name=preview]")
    page.wait_for_load_state("networkidle")
    assert "غدًا إجازة لـ سارة علي" in page.locator(".msg-bubble").inner_text()
    screenshot(page, "broadcast-preview")

    page.goto("/admin/core/message/report/")
    assert page.locator(".msg-table tbody tr").count() == 1
    screenshot(page, "report")
    problems.assert_none()
