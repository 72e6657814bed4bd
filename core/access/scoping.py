"""Who sees which rows: staff see their branches, teachers see their own groups.

Used by every admin queryset, form field and custom view, so the rule lives in one place.
"""

from django.db.models import QuerySet

from core.access.roles import Role, is_owner, user_roles


def branch_ids_visible(user) -> list[int] | None:
    """The branches a user may see, or None for all (the owner)."""
    if is_owner(user):
        return None
    cached = getattr(user, "_branch_ids", None)
    if cached is None:
        cached = list(user.branches.values_list("id", flat=True))
        user._branch_ids = cached
    return cached


def is_teacher_only(user) -> bool:
    """A teacher account without any office role: sees only its own groups."""
    roles = user_roles(user)
    return Role.TEACHER in roles and len(roles) == 1 and not user.is_superuser


def scope_by_branch(queryset: QuerySet, user, branch_path: str = "branch") -> QuerySet:
    branch_ids = branch_ids_visible(user)
    if branch_ids is None:
        return queryset
    return queryset.filter(**{f"{branch_path}__in": branch_ids})


def scope_by_teacher(queryset: QuerySet, user, group_path: str) -> QuerySet:
    """For teacher accounts keep only rows of their own groups (group_path leads to a Group)."""
    if not is_teacher_only(user):
        return queryset
    prefix = f"{group_path}__" if group_path else ""
    return queryset.filter(**{f"{prefix}teacher__user": user})
