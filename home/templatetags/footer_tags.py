"""`{% site_footer %}`: the footer of every page, rendered once per site and kept until what it
shows changes: the footer settings and a policy page published or withdrawn both move the
`site` tag on (marketplace.page_cache). Its year is at most an hour late on New Year's Day."""

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from wagtail.models import Site

from home.models import SiteFooterSettings
from marketplace import page_cache
from policies.selectors import policies_for_footer

register = template.Library()


@register.simple_tag(takes_context=True)
def site_footer(context) -> SafeString:
    request = context.get("request")
    site = Site.find_for_request(request) if request is not None else None

    def render() -> str:
        footer = SiteFooterSettings.of(site) if site is not None else None
        return render_to_string(
            "components/site_footer.html",
            {"footer": footer, "footer_policies": policies_for_footer()},
        )

    key = f"footer-html:{site.pk if site is not None else 'none'}"
    return mark_safe(page_cache.memoised(key, render))  # noqa: S308 - rendered by a template
