"""Image foreign keys point at the image model's new home, marketplace (step 2 of the move,
see marketplace 0002). State only: the columns keep referencing the same table."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('marketplace', '0002_image_model_from_home'),
        ('products', '0004_revisions_without_stock'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='designer',
                    name='logo',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='marketplace.customimage'),
                ),
                migrations.AlterField(
                    model_name='itemimage',
                    name='image',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='marketplace.customimage'),
                ),
            ],
            database_operations=[],
        ),
    ]
