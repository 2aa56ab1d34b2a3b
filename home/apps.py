from django.apps import AppConfig


class HomeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "home"

    def ready(self):
        from django.db.models.signals import post_save

        from marketplace import page_cache, sites

        from .models import HOME, HomePage, SiteFooterSettings

        def footer_changed(*, created: bool, **kwargs) -> None:
            # The footer is on every page (made with its defaults on first use: no change).
            if not created:
                page_cache.invalidate(page_cache.SITE)

        # The footer's settings come with the memoised site (SiteFooterSettings.of).
        sites.read_with_site("sitefootersettings")
        post_save.connect(
            footer_changed, sender=SiteFooterSettings, weak=False, dispatch_uid="pagecache-footer"
        )

        def home_saved(**kwargs) -> None:
            # Its row as routing keeps it (HomePage.route), however it was saved.
            page_cache.invalidate(HOME)

        post_save.connect(home_saved, sender=HomePage, weak=False, dispatch_uid="pagecache-home")
