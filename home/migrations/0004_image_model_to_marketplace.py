"""home no longer owns the image model (step 2 of the move, see marketplace 0002).

State only: hero_image keeps referencing the same table, and the tables stay, now
marketplace's. Runs after every app's image foreign keys have moved."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('home', '0003_page_url_path_index'),
        ('marketplace', '0002_image_model_from_home'),
        ('products', '0005_images_from_marketplace'),
        ('vendors', '0003_images_from_marketplace'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='homepage',
                    name='hero_image',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='marketplace.customimage'),
                ),
                migrations.DeleteModel(name='CustomRendition'),
                migrations.DeleteModel(name='CustomImage'),
            ],
            database_operations=[],
        ),
    ]
