"""Date and time formats, so the admin writes times as the dashboard does
(trackerui/dashboard/templatetags/dashboard_tags.py)."""
