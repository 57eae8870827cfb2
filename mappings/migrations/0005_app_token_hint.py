"""The token's hint becomes a column of its own, so that showing an app never decrypts its token."""

import django.core.validators
import mappings.fields
from django.db import migrations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


# Frozen here, as of this migration, rather than imported from mappings.fields, so that a later
# change or rename there cannot break a fresh install: the hint of a stored token, whether the
# field hands it over sealed (an object with its `ciphertext`) or as text; blank when no key in
# TOKEN_ENCRYPTION_KEY opens it.
def _token_hint(stored: object) -> str:
    ciphertext = getattr(stored, "ciphertext", None)
    if ciphertext is None:
        token = str(stored or "")
    else:
        keys = MultiFernet([Fernet(key.encode()) for key in settings.TOKEN_ENCRYPTION_KEYS])
        try:
            token = keys.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            return ""
    return f"…{token[-9:]}" if token else ""


def hints_fill(apps, schema_editor):  # noqa: ANN001, ANN201 (the migration framework's signature)
    App = apps.get_model("mappings", "App")
    for app in App.objects.exclude(chartboost_app_token="").only("pk", "chartboost_app_token").iterator():
        # A token no configured key opens shows no hint; its app page says it must be re-entered.
        App.objects.filter(pk=app.pk).update(chartboost_app_token_hint=_token_hint(app.chartboost_app_token))


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
