"""Wharf's Django project: settings, URL map, WSGI/ASGI entry points and the Celery app."""

from __future__ import annotations

from .celery import app as celery_app

__all__ = ["celery_app"]
