"""The "Customer service" group: admin access plus the one permission that shows customers'
personal data (`accounts.view_customer_pii`). Nobody else gets that permission by default."""

from django.db import migrations


def forwards(apps, schema_editor):
    Group = apps.get_model("auth.Group")
    Permission = apps.get_model("auth.Permission")
    ContentType = apps.get_model("contenttypes.ContentType")

    user_type, _ = ContentType.objects.get_or_create(app_label="accounts", model="user")
    view_pii, _ = Permission.objects.get_or_create(
        content_type=user_type,
        codename="view_customer_pii",
        defaults={"name": "Can view customers' personal data (every view is logged)"},
    )
    access_admin = Permission.objects.get(
        content_type__app_label="wagtailadmin", codename="access_admin"
    )
    group, _ = Group.objects.get_or_create(name="Customer service")
    group.permissions.add(access_admin, view_pii)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_profile_addresses_consent_audit"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
