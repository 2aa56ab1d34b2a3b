from django.conf import settings
from django.db import models
from django.utils import timezone


class SavedItem(models.Model):
    """A piece on a signed-in shopper's saved list (`/account/saved/`).

    Anonymous shoppers' lists are item ids in their server-side session until they sign in
    (see `services.saved_merge_into_account`). The row outlives a sale or an unpublish: the
    list then shows the piece as sold. Deleting the page removes it.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_items"
    )
    item = models.ForeignKey("products.ItemPage", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    price_alert = models.BooleanField("email me if the price drops", default=False)
    # The price the shopper last heard of: when they turned the alert on, then each alert's
    # new price. Only a publish below it is a drop, so each drop is announced once.
    alert_price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "item"], name="saved_item_once_per_user")
        ]

    def __str__(self) -> str:
        return f"item {self.item_id} saved by user {self.user_id}"
