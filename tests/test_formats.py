"""Dates, times and money read the Egyptian way in both languages (project/formats/).

Also the address ``ensure_owner --print-login`` prints, which staff copy into a browser.
"""

import datetime
from decimal import Decimal

import pytest
from django import forms
from django.contrib.admin.widgets import AdminDateWidget
from django.core.management import call_command
from django.template import Context, Template
from django.urls import reverse
from django.utils import formats, translation

from core.services.kiosks import kiosk_create
from tests.factories import CAIRO, make_group

EVENING = datetime.datetime(2026, 11, 28, 17, 20, tzinfo=CAIRO)


@pytest.mark.parametrize("language", ["ar", "en"])
def test_money_has_a_decimal_point_in_both_languages(language):
    with translation.override(language):
        assert formats.localize(Decimal("225.00")) == "225.00"
        assert Template("{{ amount }}").render(Context({"amount": Decimal("0.00")})) == "0.00"
        assert formats.number_format(Decimal("1250.5"), 2, force_grouping=True) == "1,250.50"


def test_arabic_dates_read_day_month_year_with_24_hour_times():
    with translation.override("ar"):
        assert formats.date_format(EVENING.date()) == "28 نوفمبر 2026"
        assert formats.date_format(EVENING, "DATETIME_FORMAT") == "28 نوفمبر 2026، 17:20"
        assert formats.date_format(EVENING.date(), "SHORT_DATE_FORMAT") == "28/11/2026"
        assert formats.time_format(EVENING.time()) == "17:20"


def test_english_dates_read_day_month_year_too():
    with translation.override("en"):
        assert formats.date_format(EVENING.date()) == "28 November 2026"
        assert formats.date_format(EVENING, "DATETIME_FORMAT") == "28 November 2026, 17:20"
        assert formats.date_format(EVENING.date(), "SHORT_DATE_FORMAT") == "28/11/2026"


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_week_starts_on_saturday(language):
    with translation.override(language):
        assert formats.get_format("FIRST_DAY_OF_WEEK") == 6


class DateForm(forms.Form):
    day = forms.DateField()
    moment = forms.DateTimeField()


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize(
    ("day", "moment"),
    [("2026-11-28", "2026-11-28 17:20"), ("28/11/2026", "28/11/2026 17:20")],
)
def test_date_inputs_take_iso_and_day_first(language, day, moment):
    with translation.override(language):
        form = DateForm({"day": day, "moment": moment})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["day"] == datetime.date(2026, 11, 28)
        assert form.cleaned_data["moment"] == EVENING


@pytest.mark.parametrize("language", ["ar", "en"])
def test_month_first_dates_are_refused_not_misread(language):
    with translation.override(language):
        assert not DateForm({"day": "11/28/2026", "moment": "2026-11-28 17:20"}).is_valid()


@pytest.mark.parametrize("language", ["ar", "en"])
def test_admin_date_widgets_still_write_iso(language):
    """The admin's calendar writes DATE_INPUT_FORMATS[0]; it must stay what the fields parse."""
    with translation.override(language):
        assert formats.get_format("DATE_INPUT_FORMATS")[0] == "%Y-%m-%d"
        assert AdminDateWidget().format_value(datetime.date(2026, 11, 28)) == "2026-11-28"


@pytest.mark.django_db
def test_arabic_admin_lists_show_a_decimal_point_and_day_month_year(client, owner, main_branch):
    make_group(main_branch, code="PHY-1", fee="225.00")
    kiosk, _token = kiosk_create(actor=None, name="بوابة 1", branch=main_branch)
    kiosk.last_seen_at = EVENING
    kiosk.save(update_fields=["last_seen_at"])
    client.force_login(owner)

    groups = client.get(reverse("admin:core_group_changelist")).content.decode()
    assert "225.00" in groups and "225,00" not in groups

    kiosks = client.get(reverse("admin:core_kiosk_changelist")).content.decode()
    assert "28 نوفمبر 2026، 17:20" in kiosks
    assert "نوفمبر 28, 2026" not in kiosks


@pytest.mark.django_db
def test_the_dashboard_total_has_a_decimal_point(client, owner):
    client.force_login(owner)
    body = client.get(reverse("admin:index")).content.decode()
    assert '<bdi dir="ltr">0.00</bdi>' in body


# --- ensure_owner --print-login: the address make run actually serves --------------------------


@pytest.fixture
def demo_login(db, monkeypatch, capsys):
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.delenv("PORT", raising=False)

    def printed_address(*args: str) -> str:
        call_command("ensure_owner", "--print-login", *args)
        lines = [line for line in capsys.readouterr().out.splitlines() if "Log in at" in line]
        assert len(lines) == 1
        return lines[0].split("Log in at", 1)[1].strip()

    return printed_address


def test_printed_login_defaults_to_the_makefile_address(demo_login):
    assert demo_login() == "http://127.0.0.1:8000/admin/"


def test_printed_login_follows_host_and_port_from_make(demo_login, monkeypatch):
    monkeypatch.setenv("PORT", "8792")
    assert demo_login() == "http://127.0.0.1:8792/admin/"
    monkeypatch.setenv("HOST", "0.0.0.0")  # runserver on every interface
    assert demo_login() == "http://127.0.0.1:8792/admin/"
    monkeypatch.setenv("HOST", "192.168.1.20")
    assert demo_login() == "http://192.168.1.20:8792/admin/"
    monkeypatch.setenv("HOST", "::1")
    assert demo_login() == "http://[::1]:8792/admin/"


def test_printed_login_takes_an_explicit_url(demo_login, monkeypatch):
    monkeypatch.setenv("PORT", "8792")
    assert demo_login("--url", "https://center.example/admin/") == "https://center.example/admin/"
