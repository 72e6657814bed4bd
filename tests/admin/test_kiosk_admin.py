"""Kiosks in the admin: the token page (once, with a pairing QR), form errors, edits and revoking."""

import re

import pytest
from django.urls import reverse

from core.admin.cards import qr_svg
from core.models import AuditLog, Kiosk
from core.services.kiosks import kiosk_create, kiosk_from_token, token_hash
from tests.factories import make_branch, make_room

pytestmark = pytest.mark.django_db

ADD = reverse("admin:core_kiosk_add")


def change_url(kiosk):
    return reverse("admin:core_kiosk_change", args=[kiosk.pk])


def revoke_url(kiosk):
    return reverse("admin:core_kiosk_revoke_detail", args=[kiosk.pk])


def test_the_token_is_shown_once_after_a_redirect_with_a_pairing_qr(client_as, owner, main_branch):
    client = client_as(owner)
    response = client.post(ADD, {"name": "Front door", "branch": main_branch.pk, "room": ""})
    kiosk = Kiosk.objects.get(name="Front door")
    token_url = reverse("admin:core_kiosk_token", args=[kiosk.pk])
    assert response.status_code == 302 and response["Location"] == token_url

    shown = client.get(token_url)
    assert shown.status_code == 200 and "no-store" in shown["Cache-Control"]
    token = shown.context["token"]
    assert kiosk.token_hash == token_hash(token)
    page = shown.content.decode()
    assert token in page and 'id="kiosk-token-copy"' in page
    # the QR holds the pairing address of this server's kiosk page
    pair_url = shown.context["pair_url"]
    assert pair_url == f"http://testserver/kiosk/#pair={token}"
    assert "<svg" in page and str(qr_svg(pair_url)) in page
    assert not re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page)  # no inline script (CSP)

    # a reload shows nothing secret and does not create anything
    again = client.get(token_url)
    assert again.status_code == 200 and again.context["token"] is None
    assert token not in again.content.decode() and 'id="kiosk-token-gone"' in again.content.decode()
    assert Kiosk.objects.count() == 1
    assert token not in client.get(change_url(kiosk)).content.decode()
    assert AuditLog.objects.filter(model="core.kiosk", object_id=str(kiosk.pk)).exists()


def test_the_token_is_not_in_the_session_after_it_was_shown(client_as, owner, main_branch):
    client = client_as(owner)
    client.post(ADD, {"name": "Door", "branch": main_branch.pk, "room": ""})
    kiosk = Kiosk.objects.get(name="Door")
    assert client.session["kiosk_tokens_to_show"] == {
        str(kiosk.pk): client.session["kiosk_tokens_to_show"][str(kiosk.pk)]
    }
    client.get(reverse("admin:core_kiosk_token", args=[kiosk.pk]))
    assert client.session["kiosk_tokens_to_show"] == {}


def test_the_token_page_needs_the_add_permission(client_as, receptionist, main_branch):
    kiosk, _token = kiosk_create(actor=None, name="Door", branch=main_branch)
    response = client_as(receptionist).get(reverse("admin:core_kiosk_token", args=[kiosk.pk]))
    assert response.status_code == 403


def test_a_room_of_another_branch_is_a_form_error_not_a_500(client_as, owner, main_branch):
    other_room = make_room(make_branch("مدينة نصر"), name="قاعة 1")
    response = client_as(owner).post(ADD, {"name": "Door", "branch": main_branch.pk, "room": other_room.pk})
    assert response.status_code == 200
    assert "room" in response.context["adminform"].form.errors
    assert not Kiosk.objects.exists()


def test_a_duplicate_name_in_the_branch_is_a_clear_form_error(client_as, owner, main_branch):
    kiosk_create(actor=None, name="Door", branch=main_branch)
    response = client_as(owner).post(ADD, {"name": "Door", "branch": main_branch.pk, "room": ""})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["name"]
    assert Kiosk.objects.count() == 1


def test_a_service_refusal_on_save_becomes_a_message(client_as, owner, main_branch, monkeypatch):
    from django.core.exceptions import ValidationError

    def refuse(**kwargs):
        raise ValidationError({"room": "The room must belong to the kiosk's branch."})

    monkeypatch.setattr("core.admin.kiosks.kiosk_create", refuse)
    response = client_as(owner).post(ADD, {"name": "Door", "branch": main_branch.pk, "room": ""}, follow=True)
    assert response.status_code == 200
    assert "The room must belong to the kiosk's branch." in [str(m) for m in response.context["messages"]]
    assert not Kiosk.objects.exists()


def test_the_kiosk_is_renamed_and_moved_within_its_branch_and_stays_paired(client_as, manager, main_branch):
    room, other_room = make_room(main_branch), make_room(main_branch)
    kiosk, token = kiosk_create(actor=None, name="Door", branch=main_branch, room=room)
    client = client_as(manager)
    page = client.get(change_url(kiosk))
    rooms = page.context["adminform"].form.fields["room"].queryset
    assert set(rooms) == {room, other_room}
    response = client.post(change_url(kiosk), {"name": "Side door", "room": other_room.pk})
    assert response.status_code == 302
    kiosk.refresh_from_db()
    assert (kiosk.name, kiosk.room, kiosk.branch) == ("Side door", other_room, main_branch)
    assert kiosk_from_token(token) == kiosk
    audit = AuditLog.objects.filter(model="core.kiosk", object_id=str(kiosk.pk), action=AuditLog.Action.UPDATE).get()
    assert audit.changes["name"] == ["Door", "Side door"] and audit.actor == manager


def test_the_change_page_refuses_a_room_of_another_branch(client_as, owner, main_branch):
    kiosk, _token = kiosk_create(actor=None, name="Door", branch=main_branch)
    other_room = make_room(make_branch(), name="قاعة 2")
    response = client_as(owner).post(change_url(kiosk), {"name": "Door", "room": other_room.pk})
    assert response.status_code == 200 and "room" in response.context["adminform"].form.errors
    kiosk.refresh_from_db()
    assert kiosk.room is None


def test_revoke_from_the_change_page_asks_for_a_reason(client_as, owner, main_branch):
    kiosk, token = kiosk_create(actor=None, name="Door", branch=main_branch)
    client = client_as(owner)
    page = client.get(change_url(kiosk)).content.decode()
    assert revoke_url(kiosk) in page

    confirm = client.get(revoke_url(kiosk))
    assert confirm.status_code == 200 and 'name="reason"' in confirm.content.decode()
    assert kiosk_from_token(token) == kiosk  # a GET changes nothing

    no_reason = client.post(revoke_url(kiosk), {"reason": "  "})
    assert no_reason.status_code == 200 and no_reason.context["form"].errors
    assert kiosk_from_token(token) == kiosk

    done = client.post(revoke_url(kiosk), {"reason": "tablet stolen"})
    assert done.status_code == 302 and done["Location"] == change_url(kiosk)
    assert kiosk_from_token(token) is None
    audit = AuditLog.objects.filter(model="core.kiosk", object_id=str(kiosk.pk), action=AuditLog.Action.UPDATE).get()
    assert audit.reason == "tablet stolen"

    # a revoked kiosk is shown read-only: no save buttons, no revoke button
    after = client.get(change_url(kiosk))
    assert after.status_code == 200
    html = after.content.decode()
    assert revoke_url(kiosk) not in html and 'name="_save"' not in html


def test_revoke_needs_the_change_permission(client_as, receptionist, main_branch):
    kiosk, token = kiosk_create(actor=None, name="Door", branch=main_branch)
    response = client_as(receptionist).post(revoke_url(kiosk), {"reason": "x"})
    assert response.status_code == 403
    assert kiosk_from_token(token) == kiosk


def test_revoke_as_anonymous_goes_to_the_login(client, main_branch):
    kiosk, token = kiosk_create(actor=None, name="Door", branch=main_branch)
    response = client.post(revoke_url(kiosk), {"reason": "x"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert kiosk_from_token(token) == kiosk
