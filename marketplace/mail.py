"""Every email the site sends is built here: `emails/<template>.txt` and `.html` rendered with
the site's address, from DEFAULT_FROM_EMAIL, one recipient a message. Sending is each app's
task's job (queued, after commit), so that a mail server never fails a request."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def build_message(
    *, to: str, subject: str, template: str, context: dict, headers: dict | None = None
) -> EmailMultiAlternatives:
    context = {"site_url": settings.WAGTAILADMIN_BASE_URL, **context}
    message = EmailMultiAlternatives(
        subject,
        render_to_string(f"emails/{template}.txt", context),
        settings.DEFAULT_FROM_EMAIL,
        [to],
        headers=headers or {},
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    return message


def one_click_unsubscribe(url: str) -> dict[str, str]:
    """RFC 8058 headers: a mail client's "unsubscribe" POSTs `List-Unsubscribe=One-Click` to
    the URL and it takes effect at once, without cookies (accounts.middleware); a person
    opening the link gets a confirmation page instead (a GET changes nothing)."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
