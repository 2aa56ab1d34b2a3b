"""Editors may edit and publish the HomePage itself, and nothing below it by inheritance.

Wagtail's page permissions inherit down the tree: a GroupPagePermission on the HomePage would
give editors every shop and item. So editors hold no permission row on the HomePage; instead
`HomePage.permissions_for_user` returns this tester, which adds edit, publish and add-child
rights for the Editors group on that one page. Children decide for themselves: policy pages
and the testimonial index carry per-page rows (policies.services.editors_grant_page_rights),
shops carry only their vendor's rows. "Add" here lets editors create policy pages: the other
page types allowed under the HomePage are single instances that already exist.
"""

from wagtail.models.pages import PagePermissionTester

EDITORS_GROUP_NAME = "Editors"
HOME_PAGE_EDITOR_ACTIONS = {"add", "change", "publish"}


def is_site_editor(user) -> bool:
    if not user.is_active or user.is_anonymous:
        return False
    if not hasattr(user, "_policies_is_site_editor"):
        user._policies_is_site_editor = user.groups.filter(name=EDITORS_GROUP_NAME).exists()
    return user._policies_is_site_editor


class HomePagePermissionTester(PagePermissionTester):
    """Adds the editors' rights on the HomePage; refuses what would reach the whole site.

    Wagtail derives delete, move, unpublish and privacy from change/publish. On the HomePage
    those act on every shop below it, so only superusers may do them.
    """

    def __init__(self, user, page):
        super().__init__(user, page)
        self.site_editor = not user.is_superuser and is_site_editor(user)
        if self.site_editor:
            self.permissions = self.permissions | HOME_PAGE_EDITOR_ACTIONS

    def can_delete(self, ignore_bulk=False):
        return self.user.is_superuser and super().can_delete(ignore_bulk=ignore_bulk)

    def can_unpublish(self):
        return self.user.is_superuser and super().can_unpublish()

    def can_set_view_restrictions(self):
        return self.user.is_superuser and super().can_set_view_restrictions()

    def can_copy(self):
        return self.user.is_superuser and super().can_copy()
