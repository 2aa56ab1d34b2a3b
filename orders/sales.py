"""Sales figures in the admin: the staff's "Sales" view of every shop, and who may see it.

A shop's own figures are on its dashboard panel (orders.wagtail_hooks.VendorDashboardPanel). The
staff view is not in VENDOR_ADMIN_ALLOWED, so the vendor boundary middleware refuses vendors
before it runs; the view checks again for everyone else (editors have no business here).
"""

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.urls import reverse
from django.views.generic import TemplateView

from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from vendors.permissions import vendor_for_user

from . import selectors
from .charts import sales_chart

SHOPS_PER_PAGE = 50


def may_see_all_sales(user) -> bool:
    """Superusers and site staff with the order desk's view permission; never a shop's staff."""
    if not user.is_authenticated or not user.is_active or vendor_for_user(user) is not None:
        return False
    return user.is_superuser or user.has_perm("orders.view_vendororder")


def site_sales_context() -> dict:
    """The whole site's chart and payout totals (staff dashboard panel and the sales view)."""
    figures = selectors.site_sales_figures()
    return {
        "figures": figures,
        "chart": sales_chart(
            figures.weeks, dom_id="sales-site", title="Sales across all shops per week"
        ),
    }


class SalesView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "orders/admin/sales.html"
    page_title = "Sales"
    header_icon = "table"

    def dispatch(self, request, *args, **kwargs):
        if not may_see_all_sales(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        paginator = Paginator(selectors.vendors_for_sales(), SHOPS_PER_PAGE)
        page = paginator.get_page(self.request.GET.get("p"))
        rows = [
            {
                "vendor": row.vendor,
                "figures": row.figures,
                "chart": sales_chart(
                    row.figures.weeks,
                    dom_id=f"sales-shop-{row.vendor.pk}",
                    title=f"{row.vendor.name}: sales per week",
                    compact=True,
                ),
                "edit_url": reverse("vendors:edit", args=[row.vendor.pk]),
            }
            for row in selectors.sales_by_shop(vendors=list(page.object_list))
        ]
        context.update(
            site=site_sales_context(),
            rows=rows,
            page_obj=page,
            elided_page_range=paginator.get_elided_page_range(page.number),
        )
        return context
