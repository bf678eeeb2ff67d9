from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Process",
            fields=[
                ("id", models.AutoField(primary_key=True, serialize=False)),
            ],
            options={
                "verbose_name": "process",
                "verbose_name_plural": "processes",
                "managed": False,
                "default_permissions": ("view", "change"),
            },
        ),
    ]
