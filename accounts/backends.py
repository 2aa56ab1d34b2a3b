"""Sign-in by email address or username, and the names django-axes counts failures under."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q

from axes.backends import AxesStandaloneBackend

# django-axes keeps the name in 255-character columns; no account name is longer (emails are at
# most 254), so anything longer cannot sign in and is counted under its first 255 characters.
AXES_USERNAME_MAX_LENGTH = 255


def _find_user(identifier: str):
    """The account an identifier names: its username exactly, else its email (any case)."""
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    User = get_user_model()
    candidates = list(
        User._default_manager.filter(
            Q(username__iexact=identifier) | Q(email__iexact=identifier)
        ).exclude(erased_at__isnull=False)[:3]
    )
    exact = [user for user in candidates if user.username == identifier]
    if exact:
        return exact[0]
    return candidates[0] if len(candidates) == 1 else None


class ThrottlingBackend(AxesStandaloneBackend):
    """django-axes' gate, first in AUTHENTICATION_BACKENDS: refuses locked-out logins.

    Every login over the web passes the request (Django's and Wagtail's login forms do). A call
    without one comes from code on the server (a management command, the shell, a test), where
    there is no client to throttle: axes would raise, so it is let through to the next backend.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class EmailOrUsernameBackend(ModelBackend):
    """ModelBackend that also accepts the email address in the username box.

    An unknown identifier still runs the password hasher once, so a wrong guess at an account
    name takes as long as a wrong password (Django's ModelBackend does the same).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        user = _find_user(username)
        if user is None:
            get_user_model()().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


def axes_username(request, credentials) -> str:
    """One counter per account however it is named (email or username, any case).

    Unknown names are counted too, under the name as typed, so the lockout looks the same. This
    is the one place axes gets a name from (site and admin login alike), so it is capped here.
    """
    source = credentials if credentials else getattr(request, "POST", {})
    raw = str(source.get("username") or "").strip()[:AXES_USERNAME_MAX_LENGTH]
    user = _find_user(raw)
    return user.username.lower() if user else raw.lower()


def client_ip(request) -> str | None:
    """The client's address, trusting only as many X-Forwarded-For hops as we have proxies."""
    proxies = settings.VITRINE_TRUSTED_PROXIES
    if proxies:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [hop for hop in hops if hop]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR")
