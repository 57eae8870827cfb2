"""`AppQueue` becomes `AppSendingState`: it is an app's sending state (due hint, circuit,
pause, last delivery), not a queue. Only names change; every row stays.

RenameModel also renames the table, `delivery_appqueue` to `delivery_appsendingstate`,
since the model sets no `db_table`. No raw SQL names the table: the code reads it
through the model (`_meta.db_table`) wherever it writes SQL itself.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('delivery', '0008_app_token_unreadable'),
        ('mappings', '0005_app_token_hint'),
    ]

    operations = [
        migrations.RenameModel(old_name='AppQueue', new_name='AppSendingState'),
        migrations.AlterField(
            model_name='appsendingstate',
            name='app',
            field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True,
                                       related_name='sending_state', serialize=False, to='mappings.app'),
        ),
        migrations.RenameIndex(model_name='appsendingstate', new_name='appsendingstate_due', old_name='appqueue_due'),
    ]
