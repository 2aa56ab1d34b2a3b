"""Admin panels of the catalogue's page types."""

from django.urls import reverse

from wagtail.admin.panels import Panel


class StockPanel(Panel):
    """Today's stock on an item's edit page, with the link to the stock control.

    Stock is not a field of the page form: the page's revisions must never carry it (see
    ItemPage.STOCK_FIELDS), so it is changed on its own page, at once, outside publishing.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("heading", "Stock")
        super().__init__(**kwargs)

    @property
    def clean_name(self):
        return super().clean_name or "stock"

    class BoundPanel(Panel.BoundPanel):
        template_name = "products/admin/stock_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            item = self.instance
            context["item"] = item
            context["stock_url"] = (
                reverse("products_stock:edit", args=[item.pk]) if item.pk else None
            )
            return context
