"""The data, one module per concern (people, org, schedule, attendance, money, treasury, catalog,
discounts, messaging, channels, settings, audit, backups, imports). Models hold fields, database
constraints and small derived properties; no business logic in save() or signals."""

from core.models.attendance import Attendance, DoorFollowUp, Kiosk, ScanEvent, ScanOutcomeCode
from core.models.audit import AuditLog
from core.models.backups import Backup
from core.models.catalog import Item, ItemSale, ItemSaleLine, ItemSaleReceiptVoid, ItemStock, StockMovement
from core.models.channels import Channel, ChannelBreaker, CloudTemplate, InboundMessage
from core.models.discounts import DiscountApplication, DiscountKind, DiscountRule
from core.models.imports import ImportJob
from core.models.messaging import Broadcast, Message, MessageTemplate, TemplateKey
from core.models.money import (
    CashClose,
    EntryType,
    LedgerEntry,
    PaymentMethod,
    Receipt,
    Settlement,
    SettlementItem,
    SettlementLine,
    SettlementRun,
)
from core.models.org import Branch, User
from core.models.people import Counter, Gender, Grade, Guardian, PayScheme, Student, StudentGuardian, Teacher
from core.models.schedule import Enrollment, FeePeriod, FeePlan, Group, Room, ScheduleSlot, Session, Weekday
from core.models.settings import CenterSettings
from core.models.treasury import BankTransfer, CashBookDay, Expense, ExpenseCategory

__all__ = [
    "Attendance",
    "AuditLog",
    "Backup",
    "BankTransfer",
    "Branch",
    "Broadcast",
    "CashBookDay",
    "CashClose",
    "CenterSettings",
    "Channel",
    "ChannelBreaker",
    "CloudTemplate",
    "Counter",
    "DiscountApplication",
    "DiscountKind",
    "DiscountRule",
    "DoorFollowUp",
    "Enrollment",
    "EntryType",
    "Expense",
    "ExpenseCategory",
    "FeePeriod",
    "FeePlan",
    "Gender",
    "Grade",
    "Group",
    "Guardian",
    "ImportJob",
    "InboundMessage",
    "Item",
    "ItemSale",
    "ItemSaleLine",
    "ItemSaleReceiptVoid",
    "ItemStock",
    "Kiosk",
    "LedgerEntry",
    "Message",
    "MessageTemplate",
    "PayScheme",
    "PaymentMethod",
    "Receipt",
    "Room",
    "ScanEvent",
    "ScanOutcomeCode",
    "ScheduleSlot",
    "Session",
    "Settlement",
    "SettlementItem",
    "SettlementLine",
    "SettlementRun",
    "StockMovement",
    "Student",
    "StudentGuardian",
    "Teacher",
    "TemplateKey",
    "User",
    "Weekday",
]
