from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from core.models import Branch, User
from core.roles import is_owner


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
    list_display = ["username", "first_name", "last_name", "is_active", "last_login"]
    list_filter = ["is_active", "groups", "branches"]
    filter_horizontal = ["groups", "branches", "user_permissions"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email", "language")}),
        (_("Roles and branches"), {"fields": ("is_active", "is_staff", "groups", "branches")}),
        (_("Advanced permissions"), {"classes": ["collapse"], "fields": ("is_superuser", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        # Only the owner grants superuser rights or raw permissions.
        if not is_owner(request.user):
            readonly += ["is_superuser", "user_permissions"]
        return readonly
