from wagtail import hooks

from . import page_cache


@hooks.register("before_serve_page")
def record_page_cache_tags(page, request, serve_args, serve_kwargs):
    # Before the page reads anything: the versions it is cached under are read first.
    page_cache.depend_on_page(page)
