"""gunicorn settings for `make run` and production (README: "Serving").

gthread workers: a long blob upload occupies one thread, not a whole process, and the worker's main
thread keeps heartbeating, so a 10 GB push is not killed by the worker timeout. Blobs are sent with
sendfile (wsgi.file_wrapper), and chunked request bodies are de-chunked in ``wsgi.input``.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import signal
import sys
from typing import Any

bind = os.environ.get("WHARF_LISTEN", "127.0.0.1:8000")
workers = int(os.environ.get("WHARF_WORKERS", "2"))
threads = int(os.environ.get("WHARF_THREADS", "8"))
# gthread with request heads read by the poller, read timeouts and a pool for blob transfers
# (registry_site/worker.py: slow and idle clients cannot hold every thread). "gthread" is the stock one.
worker_class = os.environ.get("WHARF_WORKER_CLASS") or "registry_site.worker.RegistryThreadWorker"
timeout = int(os.environ.get("WHARF_WORKER_TIMEOUT", "120"))
keepalive = 5
accesslog = "-" if os.environ.get("WHARF_ACCESS_LOG", "").strip().lower() in {"1", "true", "yes", "on"} else None
errorlog = "-"
# gunicorn's control socket defaults to one path per machine user, so two registries (or a test
# server beside `make run`) would fight over it; Wharf does not use it.
control_socket_disable = True
# The master imports the application once and forks its workers from it: the ~75 MiB of imported
# modules are then pages the workers share copy-on-write, not a copy in each (README "Memory"). Nothing
# the import creates is a connection, socket or thread (tests/registry_site/test_preload.py). Code is
# not reloaded by HUP then: a new release needs a restart. WHARF_PRELOAD=false imports it per worker.
preload_app = os.environ.get("WHARF_PRELOAD", "true").strip().lower() not in {"0", "false", "no", "off"}
# Client bytes that are not HTTP (docker's TLS probe) are logged at debug, not as a warning per pull.
logger_class = "registry_site.gunicorn_logging.Logger"


def worker_int(worker: Any) -> None:
    """SIGINT or SIGQUIT (Ctrl-C on `make run`, gunicorn's quick shutdown): leave at once.

    gunicorn's own handler calls sys.exit, and the interpreter then waits for every request thread —
    one blocked reading a half-sent request or a kept-alive connection included — until the master
    SIGKILLs the worker after graceful_timeout (30 s: "Worker was sent SIGKILL! Perhaps out of memory?").
    A request cut short here is one a crash would cut too: an upload resumes from its last committed
    chunk. SIGTERM (a graceful stop) still lets requests in flight finish.
    """
    from packages_app import pull_counts  # Django is set up by now (in the master too, when preloaded)

    with contextlib.suppress(Exception):  # what was counted is written; a database error loses it
        pull_counts.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def post_worker_init(worker: object) -> None:
    """Each worker writes its batched pull counts from a thread of its own (packages_app.pull_counts).
    (The imports are here because this file is read before Django is set up.)"""
    from packages_app import pull_counts

    pull_counts.start_flusher()


def worker_exit(server: object, worker: object) -> None:
    from packages_app import pull_counts

    pull_counts.stop_flusher()


def when_ready(server: Any) -> None:
    """``WHARF_METRICS=bind``: Prometheus scrapes a listener of its own (``observability.server``)."""
    if os.environ.get("WHARF_METRICS", "off").strip().lower() != "bind":
        return
    import django  # set up already when preloaded; not otherwise (WHARF_PRELOAD=false)

    django.setup()
    from observability.server import serve

    listen = os.environ.get("WHARF_METRICS_LISTEN", "127.0.0.1:9102")
    serve(listen)
    server.log.info("metrics on http://%s/metrics", listen)


PR_SET_PDEATHSIG = 1  # linux/prctl.h
# glibc's mallopt (malloc.h). A worker's threads each get a malloc arena of their own, and glibc raises
# its mmap threshold to the size of the largest block freed, so after the first upload every 1 MiB
# piece of a body comes from those arenas and their high-water mark stays resident: the worker's
# memory grew with the size and number of blobs in flight. Two arenas and a fixed 256 KiB threshold
# (big blocks mmapped, and returned when freed) cut the peak worker RSS of the fleet steps by 6-11 MiB
# (bench, two runs side by side: 10 MB pushes 121.6 -> 114.0 MiB, 100 MB pushes 133.9 -> 123.4 MiB).
# WHARF_MALLOC_MMAP_THRESHOLD=0 leaves glibc's defaults. Other C libraries have no mallopt: nothing
# is changed there.
M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8
MMAP_THRESHOLD_BYTES = int(os.environ.get("WHARF_MALLOC_MMAP_THRESHOLD", str(256 * 1024)))
ARENA_MAX = int(os.environ.get("WHARF_MALLOC_ARENA_MAX", "2"))


def _bound_malloc() -> None:
    libc = ctypes.CDLL(None)
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is not None and MMAP_THRESHOLD_BYTES > 0:
        mallopt(M_ARENA_MAX, ARENA_MAX)
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def pre_fork(server: Any, worker: Any) -> None:
    """Before each fork, the master's objects move to the garbage collector's permanent generation
    (``gc.freeze``): a worker's collections then never walk them, and so never write to the pages
    it shares with the master (a collection updates each object it examines)."""
    gc.freeze()


def post_fork(server: Any, worker: Any) -> None:
    """A worker dies with its master. Without this, workers of a SIGKILLed master notice only at their
    next heartbeat and then drain for up to ``graceful_timeout``, holding the listening socket, so a
    restart fails with "Connection in use"; their in-flight uploads resume from the last committed chunk."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != server.pid:  # the master died before the line above took effect
        os._exit(1)
    _bound_malloc()
