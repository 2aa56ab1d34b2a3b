from django import template

from policies import selectors

register = template.Library()


@register.inclusion_tag("policies/includes/policy_notices.html", takes_context=True)
def policy_notices(context):
    """The changed-policy notices for the signed-in user (nothing, and no query, for others)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    notices = selectors.policy_notices_for_user(user=user) if user is not None else []
    return {"notices": notices, "request": request, "csrf_token": context.get("csrf_token")}
