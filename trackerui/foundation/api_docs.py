"""The interactive API docs (/api/docs/): Swagger UI, under a CSP that allows no inline script.

drf-spectacular's split view serves Swagger UI's initialiser as a file of its own (the same URL
with `?script`), so `script-src 'self'` holds here too. Swagger UI writes inline styles as it
renders, so this page alone allows them. Our template adds a link back to the dashboard above it.
"""

from __future__ import annotations

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularSwaggerSplitView


@method_decorator(csp_update({"style-src": [UNSAFE_INLINE]}), name="dispatch")
class ApiDocsView(SpectacularSwaggerSplitView):
    template_name = "api_docs.html"
