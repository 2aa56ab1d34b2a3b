from django.conf import settings
from django.db import models

from wagtail.fields import StreamField

from .pages import PolicyBody


class PolicyChange(models.Model):
    """One published version of a policy page: what `<policy>/history/` lists and diffs.

    A snapshot taken when the version is published, keyed by the Wagtail revision that was
    published. It keeps its own copy of the content so the public history survives the
    purging of old revisions; drafts never get one.
    """

    page = models.ForeignKey(
        "policies.PolicyPage", on_delete=models.CASCADE, related_name="changes"
    )
    # The published Wagtail revision's id (the number in the URL). Not a foreign key: the
    # history must outlive `purge_revisions`.
    revision_id = models.PositiveBigIntegerField(unique=True)
    published_at = models.DateTimeField()
    title = models.CharField(max_length=255)
    summary = models.TextField(max_length=600)
    effective_from = models.DateField()
    body = StreamField(PolicyBody(), use_json_field=True)
    change_note = models.CharField(max_length=200, blank=True)
    material = models.BooleanField(default=False)

    class Meta:
        ordering = ["-published_at", "-revision_id"]
        indexes = [models.Index(fields=["page", "-revision_id"], name="policychange_page_rev")]

    def __str__(self) -> str:
        return f"{self.title} · {self.published_at:%Y-%m-%d}"

    def get_url(self) -> str:
        return f"{self.page.url}history/{self.revision_id}/"


class PolicyAcknowledgement(models.Model):
    """Ledger: a signed-in user dismissed the changed-policy notice for this published version.

    Append-only (one row per user and version): the latest row per page is the version the
    user last acknowledged. Account export lists these; erasure deletes them.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="policy_acknowledgements"
    )
    page = models.ForeignKey(
        "policies.PolicyPage", on_delete=models.CASCADE, related_name="acknowledgements"
    )
    revision_id = models.PositiveBigIntegerField()
    dismissed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-dismissed_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "revision_id"], name="policy_ack_once")
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} · policy {self.page_id} · revision {self.revision_id}"
