from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("trackerui", "0001_cache_table")]

    operations = [
        migrations.CreateModel(
            name="RateCounter",
            fields=[
                ("name", models.CharField(max_length=200, primary_key=True, serialize=False)),
                ("window_start", models.BigIntegerField()),
                ("expires_at", models.BigIntegerField(db_index=True)),
                ("hits", models.PositiveIntegerField()),
            ],
        ),
    ]
