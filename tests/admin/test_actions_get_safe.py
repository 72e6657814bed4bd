"""No admin URL changes anything on a GET: every page, every unfold action (list, row, detail),
every custom URL of every registered ModelAdmin, and every changelist action named in a query.

A link, a browser's prefetch, a crawler or a double-clicked bookmark sends a GET; anything that
writes must ask first and act on the POST (as "Approve" and "Recompute" do).
"""

import datetime
import hashlib
from collections.abc import Iterator

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.db.models import Model
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone

from core.models import AuditLog, Backup, Settlement, Teacher
from core.services.settlements import settlement_approve, settlement_run
from tests.factories import make_student

# Rows a GET may legitimately write: the signed-in staff member's session (idle timeout).
NOT_DATA = {Session}


@pytest.fixture
def center(owner, monkeypatch, capsys):
    """A small demo center plus the rows whose pages have the most buttons."""
    monkeypatch.setattr("core.management.commands.demo_data.HISTORY_GROUPS", 2)
    call_command("demo_data", "--students", "30")
    last_month = (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    teachers = list(Teacher.objects.order_by("pk")[:2])
    draft = settlement_run(teacher=teachers[0], month=last_month, actor=owner)
    approved = settlement_run(teacher=teachers[1], month=last_month, actor=owner)
    settlement_approve(settlement=approved, actor=owner)
    Backup.objects.create(name="center-test.tar.gz", verification=Backup.Verification.PASSED)
    make_student(Settlement.objects.first().teacher.groups.first().branch)
    capsys.readouterr()
    return draft


def _routes(patterns, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


def _first_pk(model: type[Model]) -> str | None:
    row = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
    return None if row is None else str(row)


def _value_for(parameter: str, model: type[Model]) -> str:
    """A real id for a URL parameter: the admin's own model for object_id/pk, else the model
    of this app whose name contains the parameter's (run_id → SettlementRun)."""
    if parameter in {"object_id", "pk", "id"}:
        return _first_pk(model) or "1"
    stem = parameter.removesuffix("_id").replace("_", "")
    for candidate in apps.get_app_config(model._meta.app_label).get_models():
        if stem and stem in candidate._meta.model_name and (found := _first_pk(candidate)):
            return found
    return "1"


def admin_get_urls() -> list[str]:
    urls = []
    for model, model_admin in admin.site._registry.items():
        for _route, pattern in _routes(model_admin.get_urls()):
            if not pattern.name:
                continue  # the bare "<object_id>/" redirect to the change page
            kwargs = {name: _value_for(name, model) for name in pattern.pattern.converters}
            urls.append(reverse(f"admin:{pattern.name}", kwargs=kwargs))
    return sorted(set(urls))


def changelist_action_urls(request) -> list[str]:
    """Django's bulk actions named in a GET query: only a POST may run them."""
    urls = []
    for model, model_admin in admin.site._registry.items():
        pk = _first_pk(model)
        if pk is None:
            continue
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for name in model_admin.get_actions(request):
            urls.append(f"{changelist}?action={name}&_selected_action={pk}&index=0&select_across=1")
    return urls


def row_counts() -> dict[str, int]:
    """Rows per model, in one statement (the walk counts before and after each of ~400 GETs: a
    COUNT per model each time was most of this test's time)."""
    models = [model for model in apps.get_models() if model not in NOT_DATA and model._meta.managed]
    quote = connection.ops.quote_name
    sql = " UNION ALL ".join(
        f"SELECT {index}, COUNT(*) FROM {quote(model._meta.db_table)}"  # noqa: S608 (table names from the models)
        for index, model in enumerate(models)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        counted = dict(cursor.fetchall())
    return {model._meta.label: counted[index] for index, model in enumerate(models)}


def contents_digest() -> dict[str, str]:
    """A digest of every row of every model: catches updates that leave the counts alone."""
    digests = {}
    for model in apps.get_models():
        if model in NOT_DATA:
            continue
        fields = [field.attname for field in model._meta.concrete_fields]
        digest = hashlib.sha256()
        for row in model._default_manager.order_by("pk").values_list(*fields).iterator():
            digest.update(repr(row).encode())
        digests[model._meta.label] = digest.hexdigest()
    return digests


@pytest.mark.django_db
def test_no_admin_page_or_action_changes_anything_on_get(client, owner, center, rf):
    client.force_login(owner)
    request = rf.get("/admin/")
    request.user = owner
    urls = admin_get_urls()
    # The walk reaches the actions it is about (a sanity check on the walk itself).
    recompute = reverse("admin:core_settlement_recompute", kwargs={"object_id": center.pk})
    approve = reverse("admin:core_settlement_approve", kwargs={"object_id": center.pk})
    assert {recompute, approve} <= set(urls)
    urls += changelist_action_urls(request)

    contents_before = contents_digest()
    changed, crashed = [], []
    for url in urls:
        counts_before, audit_before = row_counts(), AuditLog.objects.count()
        response = client.get(url)
        if response.status_code >= 500:
            crashed.append(f"{url} → {response.status_code}")
        counts_after = row_counts()
        if counts_after != counts_before or AuditLog.objects.count() != audit_before:
            grown = {label: counts_after[label] - n for label, n in counts_before.items() if counts_after[label] != n}
            changed.append(f"{url} → {grown}")
    contents_after = contents_digest()

    assert not changed, "GET changed rows:\n" + "\n".join(changed)
    updated = sorted(label for label, digest in contents_before.items() if contents_after[label] != digest)
    assert not updated, f"GETs updated rows of {updated}"
    assert not crashed, "GET crashed:\n" + "\n".join(crashed)
    assert len(urls) > 100


@pytest.mark.django_db
def test_recompute_asks_on_get_and_recomputes_on_post(client, owner, center):
    client.force_login(owner)
    url = reverse("admin:core_settlement_recompute", kwargs={"object_id": center.pk})
    Settlement.objects.filter(pk=center.pk).update(total="0.00", computed_at=None)
    page = client.get(url)
    assert page.status_code == 200
    assert 'method="post"' in page.content.decode()
    center.refresh_from_db()
    assert center.computed_at is None
    audits = AuditLog.objects.count()
    response = client.post(url)
    assert response.status_code == 302
    center.refresh_from_db()
    assert center.computed_at is not None
    assert AuditLog.objects.count() > audits
