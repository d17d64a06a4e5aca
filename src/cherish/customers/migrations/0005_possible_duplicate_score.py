from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_customer_language_source"),
    ]

    operations = [
        migrations.AddField(
            model_name="possibleduplicate",
            name="score",
            field=models.FloatField(default=0.0),
        ),
        migrations.AddIndex(
            model_name="possibleduplicate",
            index=models.Index(
                fields=["status", "-score", "-id"], name="possible_duplicate_ranked"
            ),
        ),
    ]
