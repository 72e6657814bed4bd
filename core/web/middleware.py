import logging
import time
import uuid

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation

from core.ops.logging import client_ip_var, request_id_var, user_var
from core.web.http import client_ip
from core.web.ratelimit import rate_limit_hit
from core.web.views import LANGUAGE_CHOSEN_BEFORE_LOGIN

request_logger = logging.getLogger("core.requests")
SUPPORTED_LANGUAGES = {code for code, _name in settings.LANGUAGES}


class RequestLogMiddleware:
    """Gives each request an id and logs method, path, status and duration once.

    4xx responses are logged as warnings and 5xx as errors, so they stand out.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        incoming_id = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming_id[:64] if incoming_id.isprintable() and incoming_id else uuid.uuid4().hex
        request.request_id = request_id
        tokens = [request_id_var.set(request_id), client_ip_var.set(client_ip(request)), user_var.set("-")]
        try:
            response = self.get_response(request)
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                user_var.set(user.get_username())
            status = response.status_code
            level = logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
            request_logger.log(
                level,
                "%s %s %s",
                request.method,
                request.path,
                status,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            response["X-Request-ID"] = request_id
            return response
        finally:
            for var, token in zip((request_id_var, client_ip_var, user_var), tokens, strict=True):
                var.reset(token)


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class UserLanguageMiddleware:
    """Arabic unless the staff member chose English: the browser's language is ignored.

    A signed-in user's choice is stored on the account; before login the choice made on
    the login page is kept in the language cookie and the session, and the account adopts
    it at login (someone who picked English to sign in expects English after).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = settings.LANGUAGE_CODE
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            chosen = request.session.pop(LANGUAGE_CHOSEN_BEFORE_LOGIN, None)
            if chosen in SUPPORTED_LANGUAGES and chosen != user.language:
                user.language = chosen
                user.save(update_fields=["language"])
            language = user.language
        else:
            cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
            if cookie in SUPPORTED_LANGUAGES:
                language = cookie
        if language not in SUPPORTED_LANGUAGES:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.setdefault("Content-Language", language)
        response.headers.setdefault("Vary", "Cookie")
        translation.deactivate()
        return response


class IdleSessionMiddleware:
    """Ends staff sessions after SESSION_COOKIE_AGE seconds without activity.

    Instead of saving the session on every request, the expiry is pushed forward at most
    once a minute: idle time is measured to the minute at the cost of one write a minute.
    """

    refresh_every_seconds = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and getattr(request, "user", None) is not None and request.user.is_authenticated:
            now = int(time.time())
            if now - session.get("_last_seen", 0) >= self.refresh_every_seconds:
                session["_last_seen"] = now  # marks the session modified: saved with a fresh expiry
        return self.get_response(request)


class LoginRateLimitMiddleware:
    """Limits login attempts per client address, on top of axes' per-username lockout."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._login_path = None

    def __call__(self, request):
        if request.method == "POST":
            if self._login_path is None:
                self._login_path = reverse("admin:login")
            if request.path == self._login_path and rate_limit_hit(
                "login", client_ip(request), limit=settings.LOGIN_RATE_LIMIT_PER_MINUTE, window_seconds=60
            ):
                return render(request, "core/rate_limited.html", status=429)
        return self.get_response(request)
