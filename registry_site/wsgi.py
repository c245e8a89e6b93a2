"""WSGI entry point (gunicorn serves this in `make run` and in production; see the README for why)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")

application = get_wsgi_application()
