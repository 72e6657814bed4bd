from core.admin import org, third_party  # noqa: F401  (registers the admins)
