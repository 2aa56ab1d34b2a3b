"""The catalogue's background work (django-tasks; `manage.py db_worker` runs it in production)."""

from marketplace.tasks import traced_task

from . import listing


@traced_task()
def index_designer_pieces(designer_id: int) -> None:
    """A designer was renamed: their pieces are found by the new name (listing)."""
    listing.index_designer_pieces(designer_id)
