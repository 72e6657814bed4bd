import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
# This process serves web requests: its database statements and lock waits are bounded
# (DB_STATEMENT_TIMEOUT_MS, DB_LOCK_TIMEOUT_MS in project/settings.py); the worker's are not.
os.environ.setdefault("SYSEDUCORE_WEB", "1")
application = get_wsgi_application()
