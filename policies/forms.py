from django import forms

from wagtail.admin.forms import WagtailAdminPageForm

CHANGE_NOTE_REQUIRED = "Say in one line what changed: it is shown in the policy's public history."


class PolicyPageForm(WagtailAdminPageForm):
    """The policy editor's form: publishing needs a one-line change note.

    Saving a draft does not. The note and the "material change" flag describe one version, so a
    new edit of an already-published version starts with both blank.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        if not self.is_bound and instance.pk and not instance.has_unpublished_changes:
            self.initial["change_note"] = ""
            self.initial["material_change"] = False

    @property
    def is_publishing(self) -> bool:
        return bool(self.data.get("action-publish"))

    def clean(self):
        cleaned_data = super().clean()
        note = (cleaned_data.get("change_note") or "").strip()
        cleaned_data["change_note"] = note
        if self.is_publishing and not note:
            self.add_error("change_note", CHANGE_NOTE_REQUIRED)
        return cleaned_data


class TestimonialSubmitForm(forms.Form):
    """A verified buyer's testimonial. Consent to publish is required and recorded."""

    quote = forms.CharField(
        label="Your words",
        max_length=800,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="What was it like to buy from this shop? Up to 800 characters.",
    )
    display_name = forms.CharField(
        label="Name to show",
        max_length=80,
        help_text="As you want it to appear, e.g. your first name and an initial.",
    )
    location = forms.CharField(
        label="Where you are (optional)",
        max_length=80,
        required=False,
        help_text="e.g. a town or city. Leave empty to show none.",
    )
    item = forms.ModelChoiceField(
        label="The piece (optional)",
        queryset=None,
        required=False,
        empty_label="The shop in general",
    )
    consent = forms.BooleanField(
        label="I agree that Vitrine may publish these words with the name and place above.",
        help_text="Editors read every testimonial before it appears. You can withdraw it "
        "from your account, or by writing to us, at any time.",
    )

    def __init__(self, *args, items, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = items
