from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from .models import Category, Designer


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
