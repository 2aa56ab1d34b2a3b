import datetime

from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.utils.text import Truncator

from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel
from wagtail.models import (
    DraftStateMixin,
    LockableMixin,
    Orderable,
    RevisionMixin,
    WorkflowMixin,
)


class Testimonial(WorkflowMixin, DraftStateMixin, LockableMixin, RevisionMixin, models.Model):
    """A shopper's words about Vitrine or a shop, shown on `/testimonials/` and the home page.

    A snippet: editors write them (from letters and emails) or receive them from verified buyers
    through the emailed link; either way they go live through the "Testimonial review" workflow.
    A verified buyer's testimonial names the vendor order it came from and when consent to
    publish was given; the buyer can withdraw it, and erasure deletes it.
    """

    quote = models.TextField(max_length=800)
    display_name = models.CharField(
        "name shown", max_length=80, help_text="As the customer wants it shown, e.g. “Ada L.”"
    )
    location = models.CharField(max_length=80, blank=True, help_text="e.g. “Bristol”")
    vendor = models.ForeignKey(
        "vendors.Vendor",
        verbose_name="shop",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="testimonials",
    )
    item = models.ForeignKey(
        "products.ItemPage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="testimonials",
    )
    date = models.DateField(default=datetime.date.today)
    vendor_order = models.OneToOneField(
        "orders.VendorOrder",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="testimonial",
    )
    consent_given_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    _revisions = GenericRelation("wagtailcore.Revision", related_query_name="testimonial")
    workflow_states = GenericRelation(
        "wagtailcore.WorkflowState",
        content_type_field="base_content_type",
        object_id_field="object_id",
        related_query_name="testimonial",
        for_concrete_model=False,
    )

    panels = [
        FieldPanel("quote"),
        FieldPanel("display_name"),
        FieldPanel("location"),
        FieldPanel("vendor"),
        FieldPanel("item"),
        FieldPanel("date"),
    ]

    class Meta:
        ordering = ["-date", "-pk"]

    def __str__(self) -> str:
        # No name here: Wagtail keeps this label in its action log after a deletion.
        return f"“{Truncator(self.quote).chars(60)}”"

    @property
    def revisions(self):
        return self._revisions

    @property
    def is_verified_buyer(self) -> bool:
        return self.vendor_order_id is not None


class TestimonialInvitation(models.Model):
    """A vendor order whose shopper was invited to write a testimonial; `used_at` makes the
    emailed link single-use, even after the testimonial is withdrawn."""

    vendor_order = models.OneToOneField(
        "orders.VendorOrder", on_delete=models.CASCADE, related_name="testimonial_invitation"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Invitation for vendor order {self.vendor_order_id}"


class HomePageTestimonial(Orderable):
    """A testimonial an editor picked for the home page (otherwise the latest are shown)."""

    page = ParentalKey(
        "home.HomePage", on_delete=models.CASCADE, related_name="featured_testimonials"
    )
    testimonial = models.ForeignKey(Testimonial, on_delete=models.CASCADE, related_name="+")

    panels = [FieldPanel("testimonial")]

    def __str__(self) -> str:
        return str(self.testimonial)
