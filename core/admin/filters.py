"""List filters whose choices follow what the user may see (SPEC.md §1), not every row there is.

A teacher's list filters offer only himself; staff of some branches see the branches, groups,
teachers and cashiers of those branches; a cashier who may not see every drawer sees only himself.
``CenterModelAdmin.get_list_filter`` swaps every related dropdown filter for this one.
"""

from django.contrib.auth import get_user_model
from django.db.models import Q
from unfold.contrib.filters.admin import RelatedDropdownFilter

from core.access.roles import is_owner
from core.access.scoping import branch_ids_visible, is_teacher_only
from core.models import Branch, Group, Teacher


def teachers_of_branches_q(branch_ids) -> Q | None:
    """Teachers of groups in these branches, and teachers without any group yet (so a new teacher
    can be given his first group); None (every teacher) for the owner."""
    if branch_ids is None:
        return None
    return Q(pk__in=Group.objects.filter(branch_id__in=branch_ids).values("teacher_id")) | ~Q(
        pk__in=Group.objects.values("teacher_id")
    )


def related_choices_q(field, user) -> Q | None:
    """What a filter on ``field`` (a foreign key) may offer this user; None: every row."""
    model = field.related_model
    branch_ids = branch_ids_visible(user)
    teacher_only = is_teacher_only(user)
    if model is Teacher:
        if teacher_only:
            return Q(user=user)
        return teachers_of_branches_q(branch_ids)
    if model is Group:
        limit = Q(teacher__user=user) if teacher_only else Q()
        return limit & Q(branch_id__in=branch_ids) if branch_ids is not None else limit or None
    if model is Branch:
        return Q(pk__in=branch_ids) if branch_ids is not None else None
    if model is get_user_model():
        # Cashiers, drawers' owners, authors: only those who wrote rows this user may see.
        if not is_owner(user) and not user.has_perm("core.view_all_cash_closes"):
            return Q(pk=user.pk)
        rows = field.model._default_manager.all()
        if branch_ids is not None and any(f.name == "branch" for f in field.model._meta.fields):
            rows = rows.filter(branch_id__in=branch_ids)
        return Q(pk__in=rows.values(field.attname))
    return None


class ScopedRelatedDropdownFilter(RelatedDropdownFilter):
    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin)
        limit = related_choices_q(field, request.user)
        if limit is None:
            return field.get_choices(include_blank=False, ordering=ordering)
        return field.get_choices(include_blank=False, ordering=ordering, limit_choices_to=limit)


def filter_path(entry) -> str:
    """The field path a list_filter entry filters on ("" for a filter class)."""
    if isinstance(entry, tuple | list):
        return entry[0]
    return entry if isinstance(entry, str) else ""


def scoped_list_filter(entry):
    """(path, RelatedDropdownFilter) → (path, ScopedRelatedDropdownFilter); anything else unchanged."""
    if isinstance(entry, tuple | list) and len(entry) == 2 and entry[1] is RelatedDropdownFilter:
        return (entry[0], ScopedRelatedDropdownFilter)
    return entry
