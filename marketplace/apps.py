from django.apps import AppConfig
from django.utils.safestring import mark_safe


class MarketplaceConfig(AppConfig):
    """The project package as an app: its template tags, and what gives the Wagtail admin's few
    inline scripts this request's CSP nonce, so the admin runs without 'unsafe-inline' scripts:

    - marketplace/templates/wagtailadmin/ overrides the panel and date-widget templates that
      carry an inline ``<script>`` (found first: this app is first in INSTALLED_APPS);
    - chooser widgets (page, image, document, snippet) write their ``<script>`` in Python
      (``BaseChooser.render``): ``ready()`` wraps it to add the nonce.
    e2e/test_csp.py proves it in Chromium; marketplace/tests/test_security_headers.py checks that
    every inline script of the admin pages carries the nonce.
    """

    name = "marketplace"
    verbose_name = "Vitrine (project)"

    def ready(self) -> None:
        from . import page_cache, pictures, sites

        page_cache.connect()
        pictures.connect()
        sites.connect()
        self._nonce_chooser_scripts()

    def _nonce_chooser_scripts(self) -> None:
        from wagtail.admin.widgets.chooser import BaseChooser

        from .middleware import current_csp_nonce

        if getattr(BaseChooser.render, "_vitrine_nonce", False):
            return
        original = BaseChooser.render

        def render(self, name, value, attrs=None, renderer=None):
            html = original(self, name, value, attrs=attrs, renderer=renderer)
            nonce = current_csp_nonce()
            head, tag, tail = str(html).rpartition("<script>")
            if not nonce or not tag:
                return html
            return mark_safe(f'{head}<script nonce="{nonce}">{tail}')  # noqa: S308 - same markup

        render._vitrine_nonce = True
        BaseChooser.render = render
