"""Login bookkeeping: note which server-side session belongs to the user.

A signal because every login path needs it (the site's, sign-up, the Wagtail admin's); the
record only lets `services.sessions_end` find the user's sessions later.
"""

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from .services import session_forget, session_record_login


@receiver(user_logged_in)
def remember_session(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is not None:
        if session.session_key is None:
            session.save()
        session_record_login(user=user, session_key=session.session_key)


@receiver(user_logged_out)
def forget_session(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if user is not None and session is not None and session.session_key:
        session_forget(session_key=session.session_key)
