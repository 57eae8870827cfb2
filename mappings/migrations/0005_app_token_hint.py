"""The token's hint becomes a column of its own, so that showing an app never decrypts its token."""

import django.core.validators
import mappings.fields
from django.db import migrations

from mappings.fields import SecretUnreadable, secret_reveal, token_hint


def hints_fill(apps, schema_editor):  # noqa: ANN001, ANN201 (the migration framework's signature)
    App = apps.get_model("mappings", "App")
    for app in App.objects.exclude(chartboost_app_token="").only("pk", "chartboost_app_token").iterator():
        try:
            hint = token_hint(secret_reveal(app.chartboost_app_token))
        except SecretUnreadable:
            # A token no configured key opens shows no hint; its app page says it must be re-entered.
            hint = ""
        App.objects.filter(pk=app.pk).update(chartboost_app_token_hint=hint)


class Migration(migrations.Migration):

    dependencies = [
        ('mappings', '0004_audit_trail'),
    ]

    operations = [
        migrations.AddField(
            model_name='app',
            name='chartboost_app_token_hint',
            field=mappings.fields.SecretHintField(blank=True, editable=False, max_length=10, secret_field='chartboost_app_token'),
        ),
        migrations.AlterField(
            model_name='app',
            name='chartboost_app_token',
            field=mappings.fields.EncryptedTextField(validators=[mappings.fields.UnlessSealed(django.core.validators.RegexValidator('^[0-9a-fA-F]{64}\\Z', 'A Chartboost app token is 64 hexadecimal characters (0-9, a-f). Find it in the Chartboost dashboard or ask Chartboost support.'))], verbose_name='Chartboost app token'),
        ),
        migrations.RunPython(hints_fill, migrations.RunPython.noop),
    ]
