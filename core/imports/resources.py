"""django-import-export resources: what each admin list exports to .xlsx and .csv (here, beside
the import, because the students' export writes the import sheet's own columns).

Resources give plain Python values (text, Decimal, int, date, datetime, bool); the writers in
``core/admin/exports.py`` decide how each is written (typed .xlsx cells, formula cells neutralized
by core/imports/formulas.py, yes/no in the user's language). An exported student list can be
edited and imported back without loss.
"""

import functools

from django.db import models
from django.db.models import Prefetch
from import_export import fields, resources, widgets

from core.imports.columns import STUDENT_COLUMNS, column_title
from core.models import Enrollment, Student, StudentGuardian


class SafeResource(resources.ModelResource):
    """The base of every export resource (formula cells are handled by the writers)."""


class NativeWidget(widgets.Widget):
    """The value itself: the writer types it (a number cell for Decimal, a date cell, ...)."""

    def render(self, value, obj=None, **kwargs):
        return value


class TextWidget(widgets.Widget):
    """Related objects and choices as the text people read, not database ids."""

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class StudentResource(SafeResource):
    """One row per student in the import template's columns (groups joined with commas)."""

    code = fields.Field(column_name="code", attribute="code")
    full_name = fields.Field(column_name="full_name", attribute="full_name")
    phone = fields.Field(column_name="phone", attribute="phone")
    guardian_name = fields.Field(column_name="guardian_name")
    guardian_phone = fields.Field(column_name="guardian_phone")
    guardian2_name = fields.Field(column_name="guardian2_name")
    guardian2_phone = fields.Field(column_name="guardian2_phone")
    grade = fields.Field(column_name="grade")
    school = fields.Field(column_name="school", attribute="school")
    groups = fields.Field(column_name="groups")
    fee_plan = fields.Field(column_name="fee_plan")
    custom_fee = fields.Field(column_name="custom_fee")
    fee_reason = fields.Field(column_name="fee_reason")
    notes = fields.Field(column_name="notes", attribute="notes")

    class Meta:
        model = Student
        fields = [column.key for column in STUDENT_COLUMNS]
        export_order = fields

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        titles = {column.key: column_title(column) for column in STUDENT_COLUMNS}
        for name, field in self.fields.items():
            field.column_name = titles.get(name, field.column_name)

    def filter_export(self, queryset, **kwargs):
        links = StudentGuardian.objects.select_related("guardian").order_by("-is_primary", "id")
        active = Enrollment.objects.filter(is_active=True).select_related("group").order_by("id")
        return queryset.prefetch_related(
            Prefetch("guardian_links", queryset=links, to_attr="export_links"),
            Prefetch("enrollments", queryset=active, to_attr="export_enrollments"),
        )

    def _guardian(self, student, index):
        links = getattr(student, "export_links", None)
        if links is None:
            links = list(student.guardian_links.select_related("guardian").order_by("-is_primary", "id"))
        return links[index].guardian if len(links) > index else None

    def _enrollments(self, student):
        found = getattr(student, "export_enrollments", None)
        if found is None:
            found = list(student.enrollments.filter(is_active=True).select_related("group").order_by("id"))
        return found

    def dehydrate_guardian_name(self, student):
        guardian = self._guardian(student, 0)
        return guardian.full_name if guardian else ""

    def dehydrate_guardian_phone(self, student):
        guardian = self._guardian(student, 0)
        return guardian.phone if guardian else ""

    def dehydrate_guardian2_name(self, student):
        guardian = self._guardian(student, 1)
        return guardian.full_name if guardian else ""

    def dehydrate_guardian2_phone(self, student):
        guardian = self._guardian(student, 1)
        return guardian.phone if guardian else ""

    def dehydrate_grade(self, student):
        return student.get_grade_display() if student.grade else ""

    def dehydrate_groups(self, student):
        return ", ".join(enrollment.group.code for enrollment in self._enrollments(student))

    def _plan(self, student):
        """The fee plan of the row: only when every active enrollment shares it. A blank plan
        on import leaves existing enrollments alone, so mixed plans survive a round trip."""
        found = self._enrollments(student)
        plans = {(enrollment.fee_plan, enrollment.custom_fee, enrollment.fee_reason) for enrollment in found}
        return found[0] if len(plans) == 1 else None

    def dehydrate_fee_plan(self, student):
        enrollment = self._plan(student)
        return enrollment.get_fee_plan_display() if enrollment else ""

    def dehydrate_custom_fee(self, student):
        enrollment = self._plan(student)
        return enrollment.custom_fee if enrollment and enrollment.custom_fee is not None else ""

    def dehydrate_fee_reason(self, student):
        enrollment = self._plan(student)
        return enrollment.fee_reason if enrollment else ""


# Fields no list should export: internal keys, secrets, files.
_SKIPPED = {"search_key", "password", "token_hash", "card_version", "photo", "logo", "rows"}


@functools.cache
def resource_for(model: type[models.Model]) -> type[resources.ModelResource]:
    """A resource with the model's own fields, related rows and choices as readable text."""
    declared = {}
    names = []
    related = []
    for model_field in model._meta.concrete_fields:
        if model_field.name in _SKIPPED or isinstance(model_field, models.FileField):
            continue
        names.append(model_field.name)
        title = model_field.verbose_name  # lazy: the header is in the language of each export
        if model_field.is_relation:
            related.append(model_field.name)
            declared[model_field.name] = fields.Field(
                attribute=model_field.name, column_name=title, widget=TextWidget(), readonly=True
            )
        elif model_field.choices:
            declared[model_field.name] = fields.Field(
                attribute=f"get_{model_field.name}_display", column_name=title, widget=TextWidget(), readonly=True
            )
        else:
            declared[model_field.name] = fields.Field(
                attribute=model_field.name, column_name=title, widget=NativeWidget(), readonly=True
            )

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related(*related) if related else queryset

    meta = type("Meta", (), {"model": model, "fields": names, "export_order": names})
    return type(
        f"{model.__name__}ExportResource",
        (SafeResource,),
        {**declared, "Meta": meta, "filter_export": filter_export, "__module__": __name__},
    )
