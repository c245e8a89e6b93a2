"""The garbage collection storm (issue 6 acceptance): clients push images that share layers, delete some
and push them again against a real gunicorn, while garbage collection (grace 0) runs again and again,
in this process and in a real Celery worker on this machine's Redis. Afterwards every acknowledged,
still-tagged manifest pulls completely with every digest verified, and once quiet a collection leaves
no unreferenced blob. The worker also proves it ran extraction: labels reach the package.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from celery import Celery
from django.db import connection
from django.db.models import Exists, OuterRef

from packages_app import gc
from packages_app.models import Blob, Manifest, Package
from packages_app.storage_check import storage_check
from tests.e2e.conftest import WharfServer
from tests.e2e.workers import celery_worker, drop_queue
from tests.oci import Image, layer_tar, make_image

pytestmark = pytest.mark.e2e

# A Redis database this test may fill and empty (shared machines give each run its own number).
REDIS = os.environ.get("WHARF_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CLIENTS, ROUNDS = 4, 6
# The collections the storm must overlap: clients push beyond ROUNDS (up to MAX_ROUNDS) until the
# collector has run this many rounds, so a faster push path cannot end the storm before it collects.
COLLECTIONS, MAX_ROUNDS = 6, 40
PACKAGES = ("storm/one", "storm/two")
DESCRIPTION = "org.opencontainers.image.description"
ACCEPT = "application/vnd.oci.image.manifest.v1+json"


def redis_answers() -> bool:
    address = urlsplit(REDIS)
    try:
        with socket.create_connection((address.hostname or "127.0.0.1", address.port or 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path
    queue: str
    app: Celery

    def send(self, task: str, *args: Any) -> Any:
        return self.app.send_task(f"packages_app.tasks.{task}", args=args, queue=self.queue)


@pytest.fixture
def storm_server(wharf_server: WharfServer, settings: Any) -> Iterator[tuple[WharfServer, Worker]]:
    """The server and a Celery worker on a private Redis queue; the worker and this process collect
    with a grace period of 0 (an upload timeout of 0 lifts the floor under it; the server keeps its
    timeout, so its sessions stay usable)."""
    if not redis_answers():
        pytest.skip(f"Redis does not answer at {REDIS} (TOOLS.md: redis-server; WHARF_TEST_REDIS_URL)")
    queue = f"wharf-storm-{uuid.uuid4().hex[:12]}"
    wharf_server.extra_env.update(
        {
            "CELERY_BROKER_URL": REDIS,
            "CELERY_RESULT_BACKEND": REDIS,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
        }
    )
    wharf_server.restart()
    collector = {"WHARF_GC_GRACE_SECONDS": "0", "WHARF_UPLOAD_TIMEOUT": "0"}
    settings.WHARF_GC_GRACE_SECONDS, settings.WHARF_UPLOAD_TIMEOUT = 0, 0
    app = Celery("storm-client", broker=REDIS, backend=REDIS)
    try:
        with celery_worker(wharf_server.data_dir / "worker.log", wharf_server.env() | collector, queue) as started:
            yield wharf_server, Worker(started.process, started.log, queue, app)
    finally:
        drop_queue(REDIS, queue)
        app.close()


# --- a client --------------------------------------------------------------------------------------


@dataclass
class Pushed:
    name: str
    tag: str
    image: Image


class Client:
    """One registry client: pushes, deletes, pushes again; records what the registry acknowledged."""

    def __init__(self, server: WharfServer, number: int, shared: list[bytes], collections: list[int]) -> None:
        self.server, self.number, self.shared, self.collections = server, number, shared, collections
        self.random = random.Random(number)
        self.acknowledged: dict[tuple[str, str], Pushed] = {}
        self.retries = 0
        self.errors: list[str] = []

    def image(self, round_: int) -> Image:
        own = layer_tar({f"c{self.number}r{round_}.txt": os.urandom(2048)})
        layers = [*self.random.sample(self.shared, 2), own]
        return make_image(layers=layers, labels={DESCRIPTION: f"storm image c{self.number} r{round_}"})

    def upload(self, name: str, image: Image, *, check: bool) -> None:
        for digest, data in image.blobs.items():
            if check and self.server.request("HEAD", f"/v2/{name}/blobs/{digest}").status == 200:
                continue  # already there: the manifest may still find it gone (then it is sent again)
            answer = self.server.request("POST", f"/v2/{name}/blobs/uploads/?digest={digest}", data,
                                         {"Content-Type": "application/octet-stream"})  # fmt: skip
            assert answer.status == 201, (answer.status, answer.body[:300])

    def push(self, name: str, tag: str, image: Image) -> None:
        """Upload and put the manifest; on MANIFEST_BLOB_UNKNOWN upload everything again and retry."""
        check = True
        for _ in range(40):
            self.upload(name, image, check=check)
            answer = self.server.request("PUT", f"/v2/{name}/manifests/{tag}", image.manifest,
                                         {"Content-Type": image.media_type})  # fmt: skip
            if answer.status == 201:
                self.acknowledged[(name, tag)] = Pushed(name, tag, image)
                return
            codes = {e["code"] for e in json.loads(answer.body)["errors"]}
            assert codes == {"MANIFEST_BLOB_UNKNOWN"}, (answer.status, answer.body[:300])
            self.retries, check = self.retries + 1, False
        self.errors.append(f"{name}:{tag} never accepted")

    def delete(self, pushed: Pushed) -> None:
        answer = self.server.request("DELETE", f"/v2/{pushed.name}/manifests/{pushed.image.digest}")
        assert answer.status == 202, (answer.status, answer.body[:300])
        del self.acknowledged[(pushed.name, pushed.tag)]

    def run(self) -> None:
        try:
            deleted: list[Pushed] = []
            round_ = -1
            while (round_ := round_ + 1) < ROUNDS or (self.collections[0] < COLLECTIONS and round_ < MAX_ROUNDS):
                name = PACKAGES[round_ % 2]
                self.push(name, f"c{self.number}-r{round_}", self.image(round_))
                if round_ % 2 == 1 and self.acknowledged:
                    victim = self.random.choice(list(self.acknowledged.values()))
                    self.delete(victim)
                    deleted.append(victim)
                if round_ % 3 == 2 and deleted:
                    again = deleted.pop(0)  # the same content and tag once more
                    self.push(again.name, again.tag, again.image)
        except Exception as exc:  # reported by the test, with the thread's context
            self.errors.append(repr(exc))
        finally:
            connection.close()


def collect_until(
    stop: threading.Event, worker: Worker, results: list[Any], rounds: list[int], grace_seconds: int | None = 0
) -> None:
    """Garbage collection again and again: here (a direct service call) and, every other round, in a
    worker (the task). With a grace period of 0 a blob is fair game from its upload to its manifest:
    the pause between rounds lets pushes through sometimes (the others get MANIFEST_BLOB_UNKNOWN and
    retry). ``grace_seconds=None`` collects with the configured grace period."""
    pace = random.Random(0)
    try:
        while not stop.is_set():
            gc.garbage_collect(grace_seconds=grace_seconds)
            if rounds[0] % 2 == 0:
                results.append(worker.send("collect_garbage"))
            rounds[0] += 1
            time.sleep(pace.uniform(0.2, 0.6))
    finally:
        connection.close()


# --- the test --------------------------------------------------------------------------------------


def verify_pull(server: WharfServer, pushed: Pushed) -> None:
    answer = server.request("GET", f"/v2/{pushed.name}/manifests/{pushed.tag}", headers={"Accept": ACCEPT})
    assert answer.status == 200, f"{pushed.name}:{pushed.tag} does not pull: {answer.status}"
    assert answer.body == pushed.image.manifest
    for digest, data in pushed.image.blobs.items():
        blob = server.request("GET", f"/v2/{pushed.name}/blobs/{digest}")
        assert blob.status == 200, f"{pushed.name}:{pushed.tag} lost {digest}: {blob.status}"
        assert (
            "sha256:" + hashlib.sha256(blob.body).hexdigest() == digest == "sha256:" + hashlib.sha256(data).hexdigest()
        )


def test_pushes_deletes_and_collections_together_lose_nothing_and_leave_nothing(
    storm_server: tuple[WharfServer, Worker],
) -> None:
    server, worker = storm_server
    shared = [layer_tar({f"base{i}.txt": os.urandom(4096)}) for i in range(4)]
    stop, results, rounds = threading.Event(), list[Any](), [0]
    clients = [Client(server, n, shared, rounds) for n in range(CLIENTS)]
    collector = threading.Thread(target=collect_until, args=(stop, worker, results, rounds))
    threads = [threading.Thread(target=c.run) for c in clients]
    collector.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    stop.set()
    collector.join(timeout=120)
    assert [e for c in clients for e in c.errors] == []
    worker_runs = [r.get(timeout=120) for r in results]  # the worker's collections all finished
    assert len(worker_runs) >= 3
    assert rounds[0] >= 3

    acknowledged = [p for c in clients for p in c.acknowledged.values()]
    assert len(acknowledged) >= CLIENTS * ROUNDS // 2
    for pushed in acknowledged:
        verify_pull(server, pushed)

    quiet = gc.garbage_collect(grace_seconds=0)
    assert quiet.skipped == 0
    referenced = Manifest.blobs.through.objects.filter(blob_id=OuterRef("pk"))
    assert list(Blob.objects.filter(~Exists(referenced)).values_list("digest", flat=True)) == []
    assert storage_check(verify=True).consistent
    for pushed in acknowledged:  # and the collection left everything still tagged whole
        verify_pull(server, pushed)
    retries = sum(c.retries for c in clients)
    print(f"storm: {rounds[0]} collections here, {len(worker_runs)} by the worker, {retries} retries")
    assert_the_worker_extracted(worker, server)


def assert_the_worker_extracted(worker: Worker, server: WharfServer) -> None:
    """Every manifest's labels were extracted (this process never extracts), and a push that comes last
    reaches its package's description through the worker."""
    deadline = time.monotonic() + 120
    while Manifest.objects.filter(extracted_at__isnull=True).exists():
        assert time.monotonic() < deadline, worker.log.read_text(errors="replace")[-4000:]
        time.sleep(0.2)
    assert "packages_app.tasks.extract_metadata" in worker.log.read_text(errors="replace")
    last = Client(server, 99, [layer_tar({"last.txt": b"last"})] * 2, [COLLECTIONS])
    image = make_image(layers=[layer_tar({"last.txt": b"last"})], labels={DESCRIPTION: "the <b>last</b> push"})
    last.push(PACKAGES[0], "final", image)
    deadline = time.monotonic() + 60
    while Package.objects.get(name=PACKAGES[0]).description != "the last push":
        assert time.monotonic() < deadline, worker.log.read_text(errors="replace")[-4000:]
        time.sleep(0.2)
    assert Manifest.objects.get(package__name=PACKAGES[0], digest=image.digest).labels == {
        DESCRIPTION: "the <b>last</b> push"
    }
