"""Policies and testimonials: pages (`pages`), published-version ledger (`history`),
testimonial snippets and submissions (`testimonials`)."""

from .history import PolicyAcknowledgement, PolicyChange
from .pages import PolicyBody, PolicyPage, TestimonialIndexPage
from .testimonials import HomePageTestimonial, Testimonial, TestimonialInvitation

__all__ = [
    "HomePageTestimonial",
    "PolicyAcknowledgement",
    "PolicyBody",
    "PolicyChange",
    "PolicyPage",
    "Testimonial",
    "TestimonialIndexPage",
    "TestimonialInvitation",
]
