from django.urls import include, path

from wagtail import hooks
from wagtail.log_actions import LogFormatter
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from .admin_views import stock_edit
from .models import Category, Designer
from .services import STOCK_SET_ACTION


class DesignerViewSet(SnippetViewSet):
    model = Designer
    icon = "user"
    menu_label = "Designers"
    list_display = ["name", "slug"]
    search_fields = ["name"]
    ordering = ["name"]


class CategoryViewSet(SnippetViewSet):
    model = Category
    icon = "folder-open-inverse"
    menu_label = "Categories"
    list_display = ["name", "parent", "slug"]
    list_filter = ["parent"]
    search_fields = ["name"]
    ordering = ["name"]


class CatalogueViewSetGroup(SnippetViewSetGroup):
    items = (DesignerViewSet, CategoryViewSet)
    menu_icon = "tag"
    menu_label = "Catalogue"
    menu_name = "catalogue"


register_snippet(CatalogueViewSetGroup)


@hooks.register("register_admin_urls")
def stock_urls():
    # Vendors reach it through VENDOR_ADMIN_ALLOWED; the boundary middleware checks `page_id`.
    urls = [path("<int:page_id>/", stock_edit, name="edit")]
    return [path("stock/", include((urls, "products_stock"), namespace="products_stock"))]


@hooks.register("register_log_actions")
def stock_log_actions(actions):
    @actions.register_action(STOCK_SET_ACTION)
    class StockSetFormatter(LogFormatter):
        label = "Change stock"

        def format_message(self, log_entry):
            data = log_entry.data or {}
            return f"Stock changed from {data.get('previous')} to {data.get('quantity')}"
