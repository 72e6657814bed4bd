from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core.services.lockouts import locked_user_role

SUPPORTED_LANGUAGES = {code for code, _name in settings.LANGUAGES}
# A language chosen on the login page, kept in the session until the account adopts it at login.
LANGUAGE_CHOSEN_BEFORE_LOGIN = "language_chosen_before_login"


@require_POST
def language_set(request: HttpRequest) -> HttpResponseRedirect:
    """Switch the interface language and remember it on the staff member's account."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or request.META.get("HTTP_REFERER") or "/admin/"
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/admin/"
    response = HttpResponseRedirect(next_url)
    if language in SUPPORTED_LANGUAGES:
        if request.user.is_authenticated and request.user.language != language:
            request.user.language = language
            request.user.save(update_fields=["language"])
        elif not request.user.is_authenticated:
            request.session[LANGUAGE_CHOSEN_BEFORE_LOGIN] = language
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """axes' lockout page: translated, and saying when the username can try again."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    cooloff = settings.AXES_COOLOFF_TIME
    last_attempt = (
        AccessAttempt.objects.filter(username=username)
        .order_by("-attempt_time")
        .values_list("attempt_time", flat=True)
        .first()
    )
    retry_at = timezone.localtime((last_attempt or timezone.now()) + cooloff)
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "username": username,
        "retry_at": retry_at,
        "cooloff_minutes": int(cooloff.total_seconds() // 60),
        # An owner is told another owner can unlock him (or the command); staff ask the owner.
        "locked_role": locked_user_role(username),
    }
    return render(request, "core/lockout.html", context, status=429)
