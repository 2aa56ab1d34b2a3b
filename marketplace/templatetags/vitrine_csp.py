"""``{% csp_nonce_attr %}``: ` nonce="…"` for the current request's Content-Security-Policy.

Works where ``request`` is not in the template context (Django form widgets), because the CSP
middleware keeps the current request in a context variable. Outside a request it renders "".
"""

from django import template
from django.utils.html import format_html

from marketplace.middleware import current_csp_nonce

register = template.Library()


@register.simple_tag
def csp_nonce_attr() -> str:
    nonce = current_csp_nonce()
    return format_html(' nonce="{}"', nonce) if nonce else ""
