from django.http import HttpRequest

from policies import selectors as policy_selectors


def site_navigation(request: HttpRequest) -> dict:
    """Footer links to the live policy pages, resolved lazily so unused templates cost nothing."""
    return {"footer_policies": policy_selectors.policies_for_footer}
