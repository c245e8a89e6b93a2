"""ASGI entry point. Not used for the registry: Django's ASGI handler spools request bodies and
reads FileResponse into memory, so blobs are served under WSGI (README, "Serving")."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")

application = get_asgi_application()
