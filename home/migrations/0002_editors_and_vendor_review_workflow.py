"""Site groups and the vendor review workflow.

Wagtail's initial data gives "Editors" and "Moderators" rights on the whole page tree and the root
collection, which would include every vendor's shop and images. Vendors are separate businesses,
so those blanket rights are removed here; editors get narrow rights per page instead. Vendors
who are "moderated" submit to the "Vendor content review" workflow, approved by Editors.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    Group = apps.get_model("auth.Group")
    Permission = apps.get_model("auth.Permission")
    ContentType = apps.get_model("contenttypes.ContentType")
    GroupPagePermission = apps.get_model("wagtailcore.GroupPagePermission")
    GroupCollectionPermission = apps.get_model("wagtailcore.GroupCollectionPermission")
    Workflow = apps.get_model("wagtailcore.Workflow")
    WorkflowTask = apps.get_model("wagtailcore.WorkflowTask")
    WorkflowPage = apps.get_model("wagtailcore.WorkflowPage")
    GroupApprovalTask = apps.get_model("wagtailcore.GroupApprovalTask")

    editors, _ = Group.objects.get_or_create(name="Editors")
    editors.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    blanket = Group.objects.filter(name__in=["Editors", "Moderators"])
    GroupPagePermission.objects.filter(group__in=blanket, page__depth=1).delete()
    GroupCollectionPermission.objects.filter(group__in=blanket, collection__depth=1).delete()
    Group.objects.filter(name="Moderators").delete()
    # No review by default: vendors who may publish, publish; moderated shops get a workflow.
    WorkflowPage.objects.filter(page__depth=1).delete()

    task_type, _ = ContentType.objects.get_or_create(
        app_label="wagtailcore", model="groupapprovaltask"
    )
    task = GroupApprovalTask.objects.filter(name="Editor approval").first()
    if task is None:
        task = GroupApprovalTask.objects.create(
            name="Editor approval", content_type=task_type, active=True
        )
    task.groups.add(editors)
    workflow, created = Workflow.objects.get_or_create(
        name="Vendor content review", defaults={"active": True}
    )
    if created:
        WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=0)


class Migration(migrations.Migration):
    dependencies = [
        ("home", "0001_initial"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
        ("wagtailcore", "0098_apitoken"),
        ("wagtailimages", "0027_image_description"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
