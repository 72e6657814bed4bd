"""What every center admin shares: branch/teacher scoping and audited saves through services."""

import functools
from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import DecimalField, ProtectedError
from django.http import HttpResponseRedirect
from django.utils.translation import gettext as _
from unfold.admin import ModelAdmin, TabularInline

from core.access.roles import may_see_pay_terms
from core.access.scoping import is_teacher_only, scope_by_branch, scope_by_teacher
from core.admin.perf import FastCountMixin
from core.ops.storage import UploadFailed
from core.selectors.money import money_text
from core.services.records import record_delete, record_save


@functools.cache
def _money_column(model, name) -> Callable | None:
    """A list column for an amount field (two decimal places) that groups its thousands in both
    languages ("1,250.00"), as receipts and reports do; None for any other column. Django's own
    grouping (USE_THOUSAND_SEPARATOR) would group ids and codes too."""
    if not isinstance(name, str):
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if not isinstance(field, DecimalField) or field.decimal_places != 2:
        return None

    def column(obj):
        value = getattr(obj, name)
        return "-" if value is None else money_text(value)

    column.short_description = field.verbose_name
    column.admin_order_field = name
    column.__name__ = name
    return column


class CenterModelAdmin(FastCountMixin, ModelAdmin):
    """Scoped querysets: ``branch_path`` names the branch of a row, ``teacher_group_path``
    the group whose teacher may see it ("" when the row is a group, None when teachers
    never see this model)."""

    branch_path: str | None = "branch"
    teacher_group_path: str | None = None
    # Unfold's markup is ~7 KB a row: 25 rows keep a list under ~300 KB and its rendering short.
    list_per_page = 25
    list_filter_submit = True
    compressed_fields = True
    warn_unsaved_form = True

    # Teacher pay terms on this model: shown only to who settles teachers (may_see_pay_terms).
    pay_term_fields: tuple[str, ...] = ()

    def get_list_filter(self, request):
        # Filter choices follow the user's branches and role, like the rows (core/admin/filters.py).
        from core.admin.filters import filter_path, scoped_list_filter

        hidden = self.pay_term_fields if self._hides_pay_terms(request) else ()
        filters = [scoped_list_filter(entry) for entry in super().get_list_filter(request) if entry not in hidden]
        if is_teacher_only(request.user):
            # A teacher sees only his own rows: a filter by teacher would only list other names.
            filters = [entry for entry in filters if filter_path(entry).split("__")[-1] != "teacher"]
        return filters

    def _hides_pay_terms(self, request) -> bool:
        return bool(self.pay_term_fields) and not may_see_pay_terms(request.user)

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        if self._hides_pay_terms(request):
            shown = [name for name in shown if name not in self.pay_term_fields]
        return [_money_column(self.model, name) or name for name in shown]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return (
            [name for name in fields if name not in self.pay_term_fields] if self._hides_pay_terms(request) else fields
        )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self._hides_pay_terms(request):
            return fieldsets
        kept = []
        for title, options in fieldsets:
            fields = [name for name in options.get("fields", ()) if name not in self.pay_term_fields]
            if fields:
                kept.append((title, {**options, "fields": fields}))
        return kept

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.branch_path:
            queryset = scope_by_branch(queryset, request.user, self.branch_path)
        if self.teacher_group_path is not None:
            queryset = scope_by_teacher(queryset, request.user, self.teacher_group_path)
        return queryset

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        """Offer only the branches (and branch rooms) the user works in."""
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        model = db_field.related_model
        if field is not None and model._meta.label_lower == "core.branch":
            field.queryset = scope_by_branch(field.queryset, request.user, "id")
        elif field is not None and model._meta.label_lower == "core.room":
            # with the branch, so each choice names it (see Room.__str__)
            field.queryset = scope_by_branch(field.queryset, request.user, "branch").select_related("branch")
        elif field is not None and model._meta.label_lower == "core.group":
            field.queryset = scope_by_branch(field.queryset, request.user, "branch")
        return field


class AuditedModelAdmin(CenterModelAdmin):
    """Reference records saved with record_save (validation + audit row)."""

    def save_model(self, request, obj, form, change):
        # The stored row is still unchanged here: record_save diffs against it.
        record_save(actor=request.user, instance=obj)

    def delete_model(self, request, obj):
        try:
            record_delete(actor=request.user, instance=obj)
        except ProtectedError:
            messages.error(
                request, _("“%(object)s” is in use and cannot be deleted; mark it inactive instead.") % {"object": obj}
            )

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


def validation_messages(error: ValidationError) -> list[str]:
    return [
        message for messages_ in getattr(error, "message_dict", {"": error.messages}).values() for message in messages_
    ]


class ServiceErrorsMixin:
    """A service may still refuse a save the form accepted (a race, a rule that needs locks).

    The admin's save runs inside a transaction: letting the ValidationError leave it rolls
    everything back, then the user sees the translated reason instead of a server error.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            for message in validation_messages(error):
                messages.error(request, message)
            return HttpResponseRedirect(request.get_full_path())


class UploadErrorsMixin:
    """A storage that refused an upload (full or read-only disk, core/ops/storage.py) shows the same
    form again with what was typed and the error on the file field, instead of a server error.

    The failed save left the admin's transaction, so nothing of it is kept; the view then runs
    again on the same POST with the refusal added to the form, which is therefore not saved.
    Put it after ServiceErrorsMixin in the bases, so it sees UploadFailed first.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except UploadFailed as failure:
            request.upload_failure = failure
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        failure = getattr(request, "upload_failure", None)
        if failure is None:
            return form_class

        class UploadRefusedForm(form_class):
            def _post_clean(self):
                super()._post_clean()
                for field, errors in failure.error_dict.items():
                    self.add_error(field if field in self.fields else None, errors)

        return UploadRefusedForm


class ReadOnlyTabInline(TabularInline):
    """A related list shown in its own tab of a change page: nothing is added or removed there
    (those writes go through services on their own pages)."""

    extra = 0
    tab = True
    can_delete = False
    show_change_link = True
    template = "core/admin/read_only_tabular.html"  # plain rows: nothing here is edited

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


class ReadOnlyMixin:
    """Records written only by services (door, ledger): shown, never added, changed or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
