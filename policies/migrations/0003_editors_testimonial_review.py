"""Editors keep policies and testimonials; verified-buyer testimonials go through review.

Extends home.0002 (which made the Editors group and its "Editor approval" task, and removed
Wagtail's blanket page rights): editors get the testimonial snippet permissions, per-page
rights on each existing policy page and testimonial index (never on the HomePage row: page
rights inherit to every shop; see policies.permissions), and a "Testimonial review" workflow
for testimonials, approved by the same task. Live policy pages get their first history entry.
"""

import json

from django.db import migrations

EDITOR_PAGE_PERMISSIONS = ("change_page", "publish_page", "lock_page", "unlock_page")
TESTIMONIAL_PERMISSIONS = ("add", "change", "delete", "view", "publish", "lock", "unlock")


def forwards(apps, schema_editor):
    Group = apps.get_model("auth.Group")
    Permission = apps.get_model("auth.Permission")
    ContentType = apps.get_model("contenttypes.ContentType")
    GroupPagePermission = apps.get_model("wagtailcore.GroupPagePermission")
    GroupApprovalTask = apps.get_model("wagtailcore.GroupApprovalTask")
    Workflow = apps.get_model("wagtailcore.Workflow")
    WorkflowTask = apps.get_model("wagtailcore.WorkflowTask")
    WorkflowContentType = apps.get_model("wagtailcore.WorkflowContentType")
    Revision = apps.get_model("wagtailcore.Revision")
    PolicyPage = apps.get_model("policies.PolicyPage")
    TestimonialIndexPage = apps.get_model("policies.TestimonialIndexPage")
    PolicyChange = apps.get_model("policies.PolicyChange")

    editors, _ = Group.objects.get_or_create(name="Editors")

    # Permissions are normally made after migrations (post_migrate): make the ones needed now.
    testimonial_type, _ = ContentType.objects.get_or_create(app_label="policies", model="testimonial")
    for action in TESTIMONIAL_PERMISSIONS:
        permission, _ = Permission.objects.get_or_create(
            content_type=testimonial_type,
            codename=f"{action}_testimonial",
            defaults={"name": f"Can {action} testimonial"},
        )
        editors.permissions.add(permission)

    page_type, _ = ContentType.objects.get_or_create(app_label="wagtailcore", model="page")
    page_permissions = [
        Permission.objects.get_or_create(
            content_type=page_type, codename=codename, defaults={"name": codename.replace("_", " ")}
        )[0]
        for codename in EDITOR_PAGE_PERMISSIONS
    ]
    for page_model in (PolicyPage, TestimonialIndexPage):
        for page in page_model.objects.all():
            for permission in page_permissions:
                GroupPagePermission.objects.get_or_create(
                    group=editors, page_id=page.pk, permission=permission
                )

    task_type, _ = ContentType.objects.get_or_create(app_label="wagtailcore", model="groupapprovaltask")
    task = GroupApprovalTask.objects.filter(name="Editor approval").first()
    if task is None:
        task = GroupApprovalTask.objects.create(name="Editor approval", content_type=task_type, active=True)
    task.groups.add(editors)
    workflow, created = Workflow.objects.get_or_create(name="Testimonial review", defaults={"active": True})
    if created:
        WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=0)
    WorkflowContentType.objects.update_or_create(content_type=testimonial_type, defaults={"workflow": workflow})

    # Policies published before the history existed: their live version is the first entry.
    for page in PolicyPage.objects.filter(live=True, live_revision__isnull=False):
        if PolicyChange.objects.filter(page_id=page.pk).exists():
            continue
        revision = Revision.objects.get(pk=page.live_revision_id)
        body = revision.content.get("body", [])
        if isinstance(body, str):
            body = json.loads(body or "[]")
        PolicyChange.objects.create(
            page_id=page.pk,
            revision_id=revision.pk,
            published_at=page.last_published_at or revision.created_at,
            title=revision.content.get("title", page.title),
            summary=revision.content.get("summary", page.summary),
            effective_from=page.effective_from,
            body=body,
            change_note="First published version.",
        )


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0002_history_testimonials"),
        ("home", "0002_editors_and_vendor_review_workflow"),
        ("wagtailcore", "0098_apitoken"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
