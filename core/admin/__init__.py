from core.admin import center, door, imports, kiosks, messaging, money, org, people, schedule, third_party  # noqa: F401  (registers the admins)
