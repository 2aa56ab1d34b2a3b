"""Account pages: thin views that check input, call one service and render a selector's data.

Every page here is personal, so every response is `never_cache` (Cache-Control: no-store).
The account's other pages live with what they show, under the same /account/ paths and
`account_view`: orders (orders.views), the saved list (saved.views), export, erasure and
guest orders (privacy.views).
"""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import selectors, services, tokens
from .backends import client_ip
from .forms import (
    AddressForm,
    EmailChangeForm,
    LoginForm,
    PasswordChangeWithValidationForm,
    PreferencesForm,
    ProfileForm,
    SignupForm,
)
from .middleware import signed_link
from .models import Address, ConsentRecord

BACKEND = "accounts.backends.EmailOrUsernameBackend"


def account_view(methods=("GET",)):
    """Signed-in only, never cached, only these HTTP methods."""

    def decorate(view):
        @wraps(view)
        @never_cache
        @login_required
        @require_http_methods(list(methods))
        def wrapped(request, *args, **kwargs):
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


# --- Sign up, sign in, sign out -----------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts_home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # A new account, or (address taken) a note to its holder: the same next page either
        # way, and no sign-in, so the page tells nobody which addresses have an account.
        services.user_signup(
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
            username=data["username"],
            password=data["password1"],
            phone=data.get("phone"),
            promotional_emails=data["promotional_emails"],
        )
        return redirect("accounts_signup_sent")
    return render(request, "accounts/signup.html", {"form": form})


@never_cache
@require_http_methods(["GET"])
def signup_sent(request: HttpRequest) -> HttpResponse:
    return render(
        request, "accounts/signup_sent.html", {"days": settings.VITRINE_EMAIL_VERIFICATION_DAYS}
    )


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django's rule): the session is flushed, i.e. deleted from the server."""


def lockout(request: HttpRequest, credentials=None, *args, **kwargs) -> HttpResponse:
    """django-axes: too many failed sign-ins from this address or for this account name.

    The same page whether or not the account exists.
    """
    return render(request, "accounts/lockout.html", status=429)


# --- Password reset (Django's views, our templates and emails) ----------------------------------


@method_decorator(never_cache, name="dispatch")
class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "emails/account_password_reset.txt"
    html_email_template_name = "emails/account_password_reset.html"
    subject_template_name = "emails/account_password_reset_subject.txt"
    success_url = reverse_lazy("accounts_password_reset_sent")

    def form_valid(self, form):
        # Queued, throttled per address and IP (accounts.services.password_reset_request);
        # the same page whatever happened, so it tells nobody which addresses have accounts.
        services.password_reset_request(
            email=form.cleaned_data["email"], ip=client_ip(self.request)
        )
        return redirect(self.get_success_url())


@method_decorator(never_cache, name="dispatch")
class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_sent.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts_password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.sessions_end(user=form.user)  # whoever was signed in is signed out
        return response


@method_decorator(never_cache, name="dispatch")
class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


# --- Email verification -------------------------------------------------------------------------


@account_view(methods=["POST"])
def verify_resend(request: HttpRequest) -> HttpResponse:
    services.verification_resend(user=request.user)
    messages.success(request, f"We've sent a new confirmation link to {request.user.email}.")
    return redirect("accounts_home")


# --- Account overview, profile, email, password -------------------------------------------------


@account_view(methods=["GET", "POST"])
def account_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    initial = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "phone": user.phone.as_national if user.phone else "",
    }
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.profile_update(user=user, **form.cleaned_data)
        messages.success(request, "Your details are saved.")
        return redirect("accounts_home")
    # The recent orders on this page come from orders' template tags (orders sits above).
    return render(request, "accounts/account_home.html", {"form": form, "section": "home"})


@account_view(methods=["GET", "POST"])
def email_change(request: HttpRequest) -> HttpResponse:
    form = EmailChangeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.email_change(user=request.user, new_email=form.cleaned_data["email"])
        messages.success(
            request, f"Your email is now {request.user.email}. Please confirm it from your inbox."
        )
        return redirect("accounts_home")
    return render(request, "accounts/email_change.html", {"form": form, "section": "home"})


@account_view(methods=["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeWithValidationForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.password_change(
            user=request.user,
            new_password=form.cleaned_data["new_password1"],
            keep_session_key=request.session.session_key,
        )
        update_session_auth_hash(request, user)  # this session stays signed in (new key)
        services.session_record_login(user=user, session_key=request.session.session_key)
        messages.success(request, "Password changed. You've been signed out everywhere else.")
        return redirect("accounts_home")
    return render(request, "accounts/password_change.html", {"form": form, "section": "home"})


# --- Address book -------------------------------------------------------------------------------


def _own_address(request: HttpRequest, address_id: int) -> Address:
    address = selectors.address_for_user(user=request.user, address_id=address_id)
    if address is None:
        raise Http404("No such address in your address book.")
    return address


@account_view()
def address_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/address_list.html",
        {"addresses": selectors.addresses_for_user(user=request.user), "section": "addresses"},
    )


@account_view(methods=["GET", "POST"])
def address_edit(request: HttpRequest, address_id: int | None = None) -> HttpResponse:
    address = _own_address(request, address_id) if address_id else Address(user=request.user)
    form = AddressForm(request.POST or None, instance=address)
    if request.method == "POST" and form.is_valid():
        services.address_save(user=request.user, address=form.instance)
        messages.success(request, "Address saved.")
        return redirect("accounts_addresses")
    return render(
        request,
        "accounts/address_form.html",
        {"form": form, "address": address if address_id else None, "section": "addresses"},
    )


@account_view(methods=["POST"])
def address_delete(request: HttpRequest, address_id: int) -> HttpResponse:
    services.address_delete(user=request.user, address=_own_address(request, address_id))
    messages.success(request, "Address deleted.")
    return redirect("accounts_addresses")


@account_view(methods=["POST"])
def address_default(request: HttpRequest, address_id: int, kind: str) -> HttpResponse:
    if kind not in {"shipping", "billing"}:
        raise Http404("Addresses are default for shipping or billing.")
    services.address_set_default(
        user=request.user, address=_own_address(request, address_id), kind=kind
    )
    messages.success(request, f"Default {'delivery' if kind == 'shipping' else kind} address set.")
    return redirect("accounts_addresses")


# --- Preferences --------------------------------------------------------------------------------


@account_view(methods=["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = PreferencesForm(
        request.POST or None,
        initial={field: getattr(user, field) for field in PreferencesForm.base_fields},
    )
    if request.method == "POST" and form.is_valid():
        services.preferences_update(
            user=user, changes=form.cleaned_data, source=ConsentRecord.Source.FORM
        )
        messages.success(request, "Your email preferences are saved.")
        return redirect("accounts_preferences")
    return render(
        request,
        "accounts/preferences.html",
        {
            "form": form,
            "consents": selectors.consents_for_user(user=user)[:20],
            "section": "preferences",
        },
    )


# --- Who opened the record ---------------------------------------------------------------------


@account_view()
def access_log(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/access_log.html",
        {"entries": selectors.access_log_for_user(user=request.user), "section": "privacy"},
    )


# --- Unsubscribe (no login, no cookies) ---------------------------------------------------------

TOPIC_NAMES = {
    "promotional_emails": "new arrivals and offers",
    "catalogue_mailings": "catalogue mailings",
    "order_status_emails": "order updates",
}


@signed_link(tokens.read_unsubscribe_token, "accounts/unsubscribe_invalid.html")
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a confirm page, nothing changes (link scanners fetch URLs). POST: unsubscribed at
    once — from the page's button or a mail client's one-click request (RFC 8058). The POST
    passes CSRF on its signed token (see accounts.middleware)."""
    try:
        user_id, topic = tokens.read_unsubscribe_token(token)
    except tokens.InvalidToken:
        return render(request, "accounts/unsubscribe_invalid.html", status=400)
    context = {"topic_name": TOPIC_NAMES[topic], "token": token}
    if request.method == "POST":
        services.unsubscribe(token=token)
        return render(request, "accounts/unsubscribe_done.html", context)
    return render(request, "accounts/unsubscribe.html", context)
