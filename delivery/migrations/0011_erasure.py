"""Erasure (a device forgotten), ErasedEvent (the keys of its events) and the device digests.

The data step fills `device_sha256` of existing tracked events and device levels, with a frozen
copy of `delivery/ingest/schema.py::device_digest`, so an OpenDSR request naming a hashed id finds
devices seen before the upgrade too. Rows are read in batches by primary key, each device of a batch updated at once.
"""

import hashlib
import re

import django.db.models.deletion
import django.utils.timezone
import simple_history.models
from django.conf import settings
from django.db import migrations, models

HEX_32 = re.compile(r"[0-9a-f]{32}")
BATCH = 2000


def device_digest(device):
    if not device:
        return ""
    if HEX_32.fullmatch(device):
        device = f"{device[:8]}-{device[8:12]}-{device[12:16]}-{device[16:20]}-{device[20:]}"
    return hashlib.sha256(device.encode("utf-8", "surrogatepass")).hexdigest()


def fill_digests(apps, schema_editor):
    for name in ("TrackedEvent", "DeviceLevel"):
        model = apps.get_model("delivery", name)
        after = 0
        while True:
            rows = list(model.objects.filter(pk__gt=after).exclude(device="").order_by("pk")
                        .values_list("pk", "device")[:BATCH])
            if not rows:
                break
            after = rows[-1][0]
            by_device = {}
            for pk, device in rows:
                by_device.setdefault(device, []).append(pk)
            for device, pks in by_device.items():
                model.objects.filter(pk__in=pks).update(device_sha256=device_digest(device))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_audit_trail'),
        ('delivery', '0010_accepted_event_rollup'),
        ('mappings', '0005_app_token_hint'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='devicelevel',
            name='device_sha256',
            field=models.CharField(blank=True, db_index=True, max_length=64),
        ),
        migrations.AddField(
            model_name='trackedevent',
            name='device_sha256',
            field=models.CharField(blank=True, db_index=True, max_length=64),
        ),
        migrations.CreateModel(
            name='HistoricalErasure',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('actor_type', models.CharField(choices=[('user', 'User'), ('api_key', 'API key'), ('system', 'System')], max_length=10)),
                ('actor_name', models.CharField(max_length=150)),
                ('source', models.CharField(choices=[('dashboard', 'Dashboard'), ('api', 'API'), ('admin', 'Admin'), ('system', 'System')], max_length=10)),
                ('kind', models.CharField(choices=[('forget', 'Forget a device'), ('opendsr', 'OpenDSR request')], max_length=10)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('in_progress', 'In progress'), ('completed', 'Completed')], default='pending', max_length=12)),
                ('subject_request_id', models.UUIDField(blank=True, null=True)),
                ('submitted_at', models.DateTimeField(blank=True, null=True)),
                ('received_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('completed_at', models.DateTimeField(blank=True, null=True)),
                ('tracked_events', models.PositiveIntegerField(default=0)),
                ('deliveries', models.PositiveIntegerField(default=0)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('device_levels', models.PositiveIntegerField(default=0)),
                ('catalogue_examples', models.PositiveIntegerField(default=0)),
                ('rejection_examples', models.PositiveIntegerField(default=0)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('organization', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.organization')),
            ],
            options={
                'verbose_name': 'historical erasure',
                'verbose_name_plural': 'historical erasures',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='ErasedEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('event_id_sha256', models.CharField(max_length=64)),
                ('timestamp', models.BigIntegerField(help_text="Unix seconds, the erased event's own time.")),
                ('app', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='mappings.app')),
            ],
            options={
                'indexes': [models.Index(fields=['timestamp'], name='erasedevent_timestamp')],
                'constraints': [models.UniqueConstraint(fields=('app', 'event_id_sha256'), name='one_erased_event_id_per_app')],
            },
        ),
        migrations.CreateModel(
            name='Erasure',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('forget', 'Forget a device'), ('opendsr', 'OpenDSR request')], max_length=10)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('in_progress', 'In progress'), ('completed', 'Completed')], default='pending', max_length=12)),
                ('subject_request_id', models.UUIDField(blank=True, null=True)),
                ('submitted_at', models.DateTimeField(blank=True, null=True)),
                ('received_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('completed_at', models.DateTimeField(blank=True, null=True)),
                ('tracked_events', models.PositiveIntegerField(default=0)),
                ('deliveries', models.PositiveIntegerField(default=0)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('device_levels', models.PositiveIntegerField(default=0)),
                ('catalogue_examples', models.PositiveIntegerField(default=0)),
                ('rejection_examples', models.PositiveIntegerField(default=0)),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='erasures', to='accounts.organization')),
            ],
            options={
                'ordering': ['-received_at', '-id'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('subject_request_id__isnull', False)), fields=('organization', 'subject_request_id'), name='one_subject_request_per_organization')],
            },
        ),
        migrations.RunPython(fill_digests, migrations.RunPython.noop),
    ]
