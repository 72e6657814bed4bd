import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse

from core.access.roles import Role


def login_url(url: str = "") -> str:
    """Where the printed login points: --url, else the HOST and PORT that ``make run`` serves on.

    make passes HOST=… and PORT=… given on its command line or in the environment to its
    commands, so ``make run PORT=8792`` prints the port runserver listens on.
    """
    if url:
        return url
    host = os.environ.get("HOST", "").strip() or "127.0.0.1"
    port = os.environ.get("PORT", "").strip() or "8000"
    # runserver listening on every interface is reached on this machine's loopback address.
    if host in {"0.0.0.0", "::"}:  # noqa: S104
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    return f"http://{host}:{port}{reverse('admin:index')}"


class Command(BaseCommand):
    help = (
        "Make sure an owner account exists. Reads DJANGO_SUPERUSER_USERNAME / _PASSWORD / _EMAIL; "
        "outside production it falls back to the demo login. Never changes an existing password."
    )

    def add_arguments(self, parser):
        parser.add_argument("--print-login", action="store_true", help="print the login to the terminal")
        parser.add_argument(
            "--url",
            default="",
            help="the address to print with --print-login (default: http://$HOST:$PORT/admin/, "
            "127.0.0.1 and 8000 when unset)",
        )

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
                f"\n  Log in at {login_url(options['url'])}\n"
                f"  user: {username}\n"
                f"  password: {password if created or password else '(unchanged)'}\n"
            )
            self.stdout.write(self.style.SUCCESS(banner))
