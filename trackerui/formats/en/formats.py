"""English formats for the admin and any `|date` without a format: ISO-like, 24 h, with the zone,
as the dashboard's `<time>` elements read without JavaScript ("2026-12-01 22:35:03 UTC")."""

DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
