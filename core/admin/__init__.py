from core.admin import backups, center, door, imports, kiosks, messaging, money, org, people, schedule, third_party  # noqa: F401  (registers the admins)
