"""gunicorn's settings wherever it serves the product (Procfile, deploy/systemd, tests/test_gunicorn.py).

Every answer under /api/ is JSON, but gunicorn answers what it refuses itself (a long request
line, a large header) in HTML before Django runs. So its limits sit above Django's
(trackerui/foundation/api_errors.py: 4 KiB of query string, 8 KiB per header, 100 headers), and an
oversize request reaches Django, which answers 414 or 431 in JSON. What is larger still, or
malformed, is refused by the proxy in front, in JSON too (docs/deploy.md, "The TLS proxy").
"""

# The request line: method, path, query and protocol. 8190 is the most gunicorn allows.
limit_request_line = 8190
# One header's size, name and value; gunicorn's default is 8190.
limit_request_field_size = 128 * 1024
# How many headers; above Django's 100, so that the 101st reaches Django and is answered in JSON.
limit_request_fields = 120
