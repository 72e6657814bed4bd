from django.core.management import call_command
from django.db import migrations

ROLE_NAMES = ["Owner", "Manager", "Receptionist", "Accountant", "Door supervisor", "Teacher"]


def create_defaults(apps, schema_editor):
    Branch = apps.get_model("core", "Branch")
    Group = apps.get_model("auth", "Group")
    if not Branch.objects.exists():
        # A single-branch center never notices branches: this one exists from the start.
        Branch.objects.create(name_ar="الفرع الرئيسي", name_en="Main branch")
    for name in ROLE_NAMES:
        Group.objects.get_or_create(name=name)


def remove_defaults(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=ROLE_NAMES, user__isnull=True).delete()


def create_cache_table(apps, schema_editor):
    # The database cache (used when REDIS_URL is unset) needs its table; migrate makes it,
    # so a release step of just "migrate" leaves a working cache.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(create_defaults, remove_defaults),
        migrations.RunPython(create_cache_table, migrations.RunPython.noop),
    ]
