"""One attempt at sending a logged delivery, and the retry schedule (``webhooks.tasks.deliver``).

Headers: ``X-Wharf-Event``, ``X-Wharf-Delivery`` (the delivery's id), ``X-Wharf-Hook-ID`` and, when the
hook has a secret, ``X-Wharf-Signature-256: sha256=<HMAC-SHA256 of the body>`` (GitHub's scheme).
A 2xx answer is a success; anything else (a refused target, a network error, a 3xx, 4xx or 5xx) is
retried ``WHARF_WEBHOOK_RETRIES`` times with exponential backoff, then the delivery is failed.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from observability import metrics

from . import payloads, transport
from .models import Delivery

USER_AGENT = "Wharf-Hookshot/1"


def headers(delivery: Delivery) -> dict[str, str]:
    hook = delivery.webhook
    sent = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Wharf-Event": delivery.event,
        "X-Wharf-Delivery": str(delivery.guid),
        "X-Wharf-Hook-ID": str(hook.id),
    }
    if hook.secret:
        sent["X-Wharf-Signature-256"] = payloads.signature(hook.secret, bytes(delivery.body))
    return sent


def backoff_seconds(attempt: int) -> float:
    """Seconds before retry number ``attempt`` (1, 2, …): base, twice that, four times, … at most an hour."""
    return float(min(settings.WHARF_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempt - 1), 3600))


def attempt(delivery: Delivery) -> bool:
    """Send once and log the outcome. True when another attempt should follow."""
    outcome = transport.post(delivery.webhook.url, bytes(delivery.body), headers(delivery))
    delivery.attempts += 1
    delivery.response_status = outcome.status
    delivery.response_ms = outcome.ms
    delivery.response_excerpt = outcome.excerpt
    delivery.error = outcome.error or ("" if outcome.ok else f"HTTP {outcome.status}")
    delivery.delivered_at = timezone.now()
    retry = not outcome.ok and delivery.attempts <= settings.WHARF_WEBHOOK_RETRIES
    if outcome.ok:
        delivery.status = Delivery.Status.SUCCEEDED
    else:
        delivery.status = Delivery.Status.RETRYING if retry else Delivery.Status.FAILED
    delivery.save()
    metrics.WEBHOOK_ATTEMPTS.labels(delivery.status).inc()
    return retry
