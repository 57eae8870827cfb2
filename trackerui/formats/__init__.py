"""Date and time formats, so the admin writes times as the dashboard does (trackerui/templatetags/dashboard_tags.py)."""
