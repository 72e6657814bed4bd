"""The center's structure: branches and the staff accounts that work in them."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Branch(models.Model):
    name_ar = models.CharField(_("name (Arabic)"), max_length=120, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        ordering = ["id"]

    def __str__(self) -> str:
        if get_language() == "en" and self.name_en:
            return self.name_en
        return self.name_ar


class User(AbstractUser):
    """A staff account. Roles are Django groups (core.access.roles); branches scope what it sees."""

    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES, default="ar")
    branches = models.ManyToManyField(Branch, blank=True, related_name="staff", verbose_name=_("branches"))

    class Meta(AbstractUser.Meta):
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    def __str__(self) -> str:
        # Receipts, reports, filters and lists name the person ("Mona Adel"), not the login.
        return self.get_full_name() or self.username
