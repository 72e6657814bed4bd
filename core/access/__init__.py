"""Who may do what and see which rows: roles (groups and permissions) and branch/teacher scoping.
Every admin queryset, form and custom view asks here, so the rule lives in one place.
"""
