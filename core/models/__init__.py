from core.models.org import Branch, User

__all__ = ["Branch", "User"]
