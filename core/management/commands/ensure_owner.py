import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.roles import Role


class Command(BaseCommand):
    help = (
        "Make sure an owner account exists. Reads DJANGO_SUPERUSER_USERNAME / _PASSWORD / _EMAIL; "
        "outside production it falls back to the demo login. Never changes an existing password."
    )

    def add_arguments(self, parser):
        parser.add_argument("--print-login", action="store_true", help="print the login to the terminal")

    def handle(self, *args, **options):
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "").strip()
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "").strip()
        if not username:
            if settings.PRODUCTION:
                raise CommandError(
                    "Set DJANGO_SUPERUSER_USERNAME and DJANGO_SUPERUSER_PASSWORD to create the first owner."
                )
            username, password = settings.DEMO_OWNER_USERNAME, settings.DEMO_OWNER_PASSWORD
        User = get_user_model()
        with transaction.atomic():
            user = User.objects.filter(username=username).first()
            created = user is None
            if created:
                if not password:
                    raise CommandError("Set DJANGO_SUPERUSER_PASSWORD: the owner account needs a password.")
                user = User(username=username, email=email, is_staff=True, is_superuser=True)
                try:
                    user.full_clean(exclude=["password"])
                except ValidationError as exc:
                    raise CommandError("; ".join(exc.messages)) from exc
                user.set_password(password)
                user.save()
            user.groups.add(Group.objects.get(name=Role.OWNER))
        self.stdout.write(f"owner account {'created' if created else 'exists'}: {username}")
        if options["print_login"]:
            banner = (
                "\n  Log in at http://127.0.0.1:8000/admin/\n"
                f"  user: {username}\n"
                f"  password: {password if created or password else '(unchanged)'}\n"
            )
            self.stdout.write(self.style.SUCCESS(banner))
