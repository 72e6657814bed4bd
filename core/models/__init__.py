from core.models.audit import AuditLog
from core.models.org import Branch, User
from core.models.people import Counter, Grade, Guardian, PayScheme, Student, StudentGuardian, Teacher
from core.models.schedule import Enrollment, FeePeriod, FeePlan, Group, Room, ScheduleSlot, Session, Weekday
from core.models.settings import CenterSettings

__all__ = [
    "AuditLog",
    "Branch",
    "CenterSettings",
    "Counter",
    "Enrollment",
    "FeePeriod",
    "FeePlan",
    "Grade",
    "Group",
    "Guardian",
    "PayScheme",
    "Room",
    "ScheduleSlot",
    "Session",
    "Student",
    "StudentGuardian",
    "Teacher",
    "User",
    "Weekday",
]
