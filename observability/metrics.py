"""The registry's metrics (prometheus-client). Labels are bounded sets — a registry operation (the
route's name), the method, the status code, an outcome — never a package name, tag or digest, so the
number of series does not grow with the number of packages.

Under gunicorn (several worker processes) and with the Celery worker on the same machine, every
process writes its samples to ``PROMETHEUS_MULTIPROC_DIR`` (set by settings when metrics are on) and
a scrape sums them (``observability.exposition``).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "wharf_registry_requests",
    "Registry requests by operation (route), method and status.",
    ["operation", "method", "status"],
)
LATENCY = Histogram(
    "wharf_registry_request_duration_seconds",
    "Time to the response's headers, by registry operation and method (a streamed blob body is not included).",
    ["operation", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
BYTES_RECEIVED = Counter(
    "wharf_registry_bytes_received", "Request body bytes read by the registry (blob and manifest pushes)."
)
BYTES_SENT = Counter(
    "wharf_registry_bytes_sent",
    "Blob and manifest bytes answered to pulls (by Wharf itself; S3 redirects not included).",
    ["operation"],
)
GC_RUNS = Counter("wharf_gc_runs", "Online garbage collections run.")
GC_BLOBS = Counter("wharf_gc_blobs_collected", "Blobs removed by garbage collection.")
GC_BYTES = Counter("wharf_gc_bytes_collected", "Bytes of blobs removed by garbage collection.")
WEBHOOK_ATTEMPTS = Counter("wharf_webhook_attempts", "Webhook delivery attempts by outcome.", ["outcome"])
