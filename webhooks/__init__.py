"""Webhooks: HTTP callbacks for package events (``packages_app.events``), signed, delivered by Celery."""
