"""Spreadsheet imports in the admin: upload → check (preview) → confirm, and the import history.

The preview is a summary plus paged rows (never the whole file in one page); files over
``BACKGROUND_ROWS`` rows are checked and applied by a django-q2 task while the page shows a
progress bar and refreshes itself. The engine is the package ``core.imports``.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.contrib.filters.admin import ChoicesDropdownFilter
from unfold.decorators import display
from unfold.widgets import UnfoldAdminFileFieldWidget, UnfoldAdminSelectWidget

from core.access.scoping import scope_by_branch
from core.admin.base import CenterModelAdmin, ReadOnlyMixin, validation_messages
from core.imports import engine, jobs, results, writers
from core.imports.cells import MAX_FILE_BYTES
from core.models import Branch, ImportJob
from core.ops.storage import UploadFailed

PREVIEW_PAGE_SIZE = 50
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# What a user needs, besides the import permission, to import each kind of file.
KIND_PERMISSIONS = {
    ImportJob.Kind.STUDENTS: ("core.add_student", "core.change_student", "core.add_enrollment"),
    ImportJob.Kind.TEACHERS: ("core.add_teacher", "core.change_teacher"),
    ImportJob.Kind.GROUPS: ("core.add_group", "core.change_group", "core.add_scheduleslot"),
    ImportJob.Kind.EXPENSES: ("core.add_expense",),  # each row within the desk's limit (the service checks)
    ImportJob.Kind.ITEMS: ("core.add_item", "core.change_item", "core.adjust_stock"),
}

# Whole sentences per kind: a kind's label glued into "Import %(kind)s" does not read right in Arabic.
UPLOAD_TITLES = {
    ImportJob.Kind.STUDENTS: gettext_lazy("Import students"),
    ImportJob.Kind.TEACHERS: gettext_lazy("Import teachers"),
    ImportJob.Kind.GROUPS: gettext_lazy("Import groups and their timetable"),
    ImportJob.Kind.EXPENSES: gettext_lazy("Import expenses"),
    ImportJob.Kind.ITEMS: gettext_lazy("Import notes and books"),
}


def can_import(user, kind: str) -> bool:
    return kind in engine.IMPORTERS and user.has_perms(("core.add_importjob", *KIND_PERMISSIONS[kind]))


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Spreadsheet"),
        help_text=gettext_lazy(".xlsx, .ods, .xls or .csv (UTF-8, UTF-16 or Windows-1256), up to 10 MB."),
        widget=UnfoldAdminFileFieldWidget(attrs={"accept": ".xlsx,.ods,.xls,.csv,.txt"}),
    )
    branch = forms.ModelChoiceField(
        queryset=Branch.objects.none(),
        label=gettext_lazy("Branch"),
        required=False,
        help_text=gettext_lazy("New students join this branch."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        branches = scope_by_branch(Branch.objects.filter(is_active=True), user, "id").order_by("id")
        self.fields["branch"].queryset = branches
        self.fields["branch"].widget = UnfoldAdminSelectWidget(choices=self.fields["branch"].choices)
        self.fields["branch"].initial = branches.first()
        if branches.count() == 1:
            self.fields["branch"].widget = forms.HiddenInput()

    def clean_branch(self):
        branch = self.cleaned_data.get("branch") or self.fields["branch"].queryset.first()
        if branch is None:
            raise ValidationError(_("You do not work in any branch."))
        return branch

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size == 0:
            raise ValidationError(_("The file is empty."))
        if upload.size > MAX_FILE_BYTES:
            raise ValidationError(
                _("The file is larger than %(size)s MB. Remove pictures and extra sheets, or split it.")
                % {"size": MAX_FILE_BYTES // (1024 * 1024)}
            )
        return upload


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyMixin, CenterModelAdmin):  # uploads go through the import page
    list_display = ["created_at", "kind", "file_name", "created_by", "status_badge", "counts"]
    list_display_links = ["created_at", "file_name"]
    list_filter = [("kind", ChoicesDropdownFilter), ("status", ChoicesDropdownFilter)]
    search_fields = ["file_name"]
    list_select_related = ["created_by"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("rows")

    @display(description=gettext_lazy("status"), label=True)
    def status_badge(self, job):
        return job.get_status_display()

    @display(description=gettext_lazy("new / updated / unchanged / duplicates / errors"))
    def counts(self, job):
        return format_html(
            '<bdi dir="ltr">{} / {} / {} / {} / {}</bdi>',
            job.new_count,
            job.update_count,
            job.unchanged_count,
            job.duplicate_count,
            job.error_count,
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("upload/<str:kind>/", wrap(self.upload_view), name="core_importjob_upload"),
            path("template/<str:kind>.xlsx", wrap(self.template_view), name="core_importjob_template"),
            path("<int:job_id>/confirm/", wrap(self.confirm_view), name="core_importjob_confirm"),
            path("<int:job_id>/errors.xlsx", wrap(self.errors_view), name="core_importjob_errors"),
            path("<int:job_id>/job/", wrap(self.job_view), name="core_importjob_job"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not str(object_id).isdigit():
            raise Http404
        return HttpResponseRedirect(reverse("admin:core_importjob_job", args=[int(object_id)]))

    def _job(self, request, job_id: int) -> ImportJob:
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = self.get_queryset(request).defer(None).filter(pk=job_id).first()
        if job is None:
            raise Http404
        return job

    def _context(self, request, **extra):
        return {**self.admin_site.each_context(request), "opts": self.model._meta, **extra}

    def upload_view(self, request, kind: str):
        if kind not in engine.IMPORTERS:
            raise Http404
        if not can_import(request.user, kind):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                job = jobs.import_job_create(
                    actor=request.user, kind=kind, branch=form.cleaned_data["branch"], upload=form.cleaned_data["file"]
                )
            except UploadFailed as failure:  # the disk refused it: the same page, the error on the file
                for field, errors in failure.error_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                jobs.import_job_start_check(job=job)
                return HttpResponseRedirect(reverse("admin:core_importjob_job", args=[job.pk]))
        with translation.override("en"):
            columns = [(column.arabic, str(column.label), column.required) for column in engine.IMPORTERS[kind].columns]
        return TemplateResponse(
            request,
            "admin/imports/upload.html",
            self._context(
                request,
                title=UPLOAD_TITLES[kind],
                form=form,
                kind=kind,
                columns=columns,
                template_url=reverse("admin:core_importjob_template", args=[kind]),
                background_rows=jobs.BACKGROUND_ROWS,
            ),
        )

    def template_view(self, request, kind: str):
        if kind not in engine.IMPORTERS:
            raise Http404
        if not can_import(request.user, kind):
            raise PermissionDenied
        response = HttpResponse(writers.template_workbook(kind, user=request.user), content_type=XLSX_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{writers.template_file_name(kind)}"'
        return response

    def job_view(self, request, job_id: int):
        job = self._job(request, job_id)
        show = request.GET.get("show", "")
        rows = job.rows
        if show in results.ACTIONS:
            rows = [row for row in rows if row["a"] == show]
        page = Paginator(rows, PREVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
        return TemplateResponse(
            request,
            "admin/imports/job.html",
            self._context(
                request,
                title=_("Import: %(file)s") % {"file": job.file_name},
                job=job,
                page=page,
                show=show,
                filters=[
                    ("", _("All rows"), job.total_rows),
                    (results.ERROR, _("Errors"), job.error_count),
                    (results.NEW, _("New"), job.new_count),
                    (results.UPDATE, _("Update"), job.update_count),
                    (results.UNCHANGED, _("Unchanged"), job.unchanged_count),
                    (results.DUPLICATE, _("Duplicates"), job.duplicate_count),
                ],
                action_labels={
                    results.NEW: _("New"),
                    results.UPDATE: _("Update"),
                    results.UNCHANGED: _("Unchanged"),
                    results.DUPLICATE: _("Duplicate"),
                    results.ERROR: _("Error"),
                },
                may_apply=job.can_apply and can_import(request.user, job.kind),
                upload_url=reverse("admin:core_importjob_upload", args=[job.kind])
                if can_import(request.user, job.kind)
                else "",
            ),
        )

    def confirm_view(self, request, job_id: int):
        job = self._job(request, job_id)
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:core_importjob_job", args=[job.pk]))
        if not can_import(request.user, job.kind):
            raise PermissionDenied
        try:
            job = jobs.import_job_start_apply(job=job, actor=request.user)
        except ValidationError as error:
            for message in validation_messages(error):
                messages.error(request, message)
        else:
            if job.status == ImportJob.Status.DONE:
                messages.success(
                    request,
                    _(
                        "Imported: %(new)s new, %(update)s updated, %(unchanged)s unchanged, "
                        "%(duplicate)s duplicates skipped."
                    )
                    % {
                        "new": job.new_count,
                        "update": job.update_count,
                        "unchanged": job.unchanged_count,
                        "duplicate": job.duplicate_count,
                    },
                )
            elif job.status != ImportJob.Status.APPLYING:
                messages.error(request, job.message or _("Nothing was imported."))
        return HttpResponseRedirect(reverse("admin:core_importjob_job", args=[job.pk]))

    def errors_view(self, request, job_id: int):
        job = self._job(request, job_id)
        if not job.error_count:
            raise Http404
        response = HttpResponse(writers.error_report(job), content_type=XLSX_TYPE)
        stem = job.file_name.rsplit(".", 1)[0][:80] or "import"
        response["Content-Disposition"] = f'attachment; filename="{stem}-errors.xlsx"'
        return response
