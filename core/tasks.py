"""django-q2 entry points: thin functions that load ids and call services."""

from core.ops.health import heartbeat_record
from core.services import messaging


def heartbeat() -> None:
    heartbeat_record()


def import_job_check(job_id: int) -> None:
    from core.imports.jobs import import_job_check as check

    check(job_id=job_id)


def import_job_apply(job_id: int, actor_id: int) -> None:
    from core.imports.jobs import import_job_apply as apply
    from core.models import User

    apply(job_id=job_id, actor=User.objects.get(pk=actor_id))


def import_job_finished(task) -> None:
    """q2 hook: an import task that crashed marks its job failed instead of running for ever."""
    if not task.success:
        from core.imports.jobs import import_job_fail

        import_job_fail(job_id=task.args[0])


def sessions_generate_daily() -> None:
    from core.services.sessions import sessions_generate

    sessions_generate()


def messages_send_due() -> None:
    messaging.messages_send_due()


def message_send(message_id: int) -> None:
    messaging.message_send(message_id=message_id)


def messages_cleanup() -> None:
    messaging.messages_cleanup()


def import_files_clean_up() -> None:
    from core.imports.uploads import import_files_clean_up

    import_files_clean_up()


def door_auto_cancel() -> None:
    from core.services.door import sessions_auto_cancel

    sessions_auto_cancel()


def door_absences_mark() -> None:
    from core.services.door import sessions_mark_absent

    sessions_mark_absent()


def settlements_run_month(run_id: int) -> None:
    from core.services.settlements import settlement_run_execute

    settlement_run_execute(run_id=run_id)


def payment_reminders_send() -> None:
    from core.services.reminders import payment_reminders_queue

    payment_reminders_queue()


def backup_now(actor_id: int) -> None:
    from core.models import User
    from core.services.backups import backup_create, backup_verify_queue

    backup_verify_queue(backup_create(actor=User.objects.get(pk=actor_id), verify=False))


def backups_daily() -> None:
    from core.services.backups import backup_daily

    backup_daily()


def backup_verify(backup_id: int) -> None:
    from core.services.backups import backup_verify as verify

    verify(backup_id=backup_id)


def dashboard_refresh() -> None:
    """Every minute: keep the dashboards someone is watching a minute fresh (issue 17)."""
    from core.selectors.dashboard_page import dashboard_refresh as refresh

    refresh()
