from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext
from unfold.admin import ModelAdmin
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from core.access.roles import Role, is_owner
from core.models import Branch, User


def role_label(name: str) -> str:
    """A role group's translated label; a group that is no role keeps the name it was given.

    The groups' names in the database are the roles' English values (permissions and code look
    them up by name), so the admin shows the label instead wherever a group is listed.
    """
    try:
        return str(Role(name).label)
    except ValueError:
        return name


class RoleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return role_label(obj.name)


class RoleListFilter(admin.RelatedFieldListFilter):
    def field_choices(self, field, request, model_admin):
        return [(pk, role_label(name)) for pk, name in super().field_choices(field, request, model_admin)]


@admin.register(Branch)
class BranchAdmin(ModelAdmin):
    list_display = ["name_ar", "name_en", "phone", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name_ar", "name_en"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ["username", "first_name", "last_name", "roles", "is_active", "last_login"]
    list_filter = ["is_active", ("groups", RoleListFilter), "branches"]
    filter_horizontal = ["groups", "branches", "user_permissions"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email", "language")}),
        (_("Roles and branches"), {"fields": ("is_active", "is_staff", "groups", "branches")}),
        (_("Advanced permissions"), {"classes": ["collapse"], "fields": ("is_superuser", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("Roles"))
    def roles(self, user: User) -> str:
        return pgettext("list separator", ", ").join(sorted(role_label(group.name) for group in user.groups.all()))

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups":
            kwargs["form_class"] = RoleChoiceField
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        # Only the owner grants superuser rights or raw permissions.
        if not is_owner(request.user):
            readonly += ["is_superuser", "user_permissions"]
        return readonly
