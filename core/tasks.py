"""django-q2 entry points: thin functions that load ids and call services."""

from core.health import heartbeat_record


def heartbeat() -> None:
    heartbeat_record()


def import_job_check(job_id: int) -> None:
    from core.services.imports import import_job_check as check

    check(job_id=job_id)


def import_job_apply(job_id: int, actor_id: int) -> None:
    from core.models import User
    from core.services.imports import import_job_apply as apply

    apply(job_id=job_id, actor=User.objects.get(pk=actor_id))


def door_auto_cancel() -> None:
    from core.services.door import sessions_auto_cancel

    sessions_auto_cancel()


def door_absences_mark() -> None:
    from core.services.door import sessions_mark_absent

    sessions_mark_absent()
