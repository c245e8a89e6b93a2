"""Wharf as several stateless nodes behind HAProxy, on Swift's S3 API, Redis and two Celery workers
(issue 14): chunks of one upload on different nodes, a node SIGKILLed mid-push, docker and skopeo
through the load balancer, pulls redirected to the object store."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import itertools
import os
import random
import re
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.db.models import Exists, OuterRef
from django.utils import timezone

from packages_app import gc, storage
from packages_app.models import Blob, Manifest, Upload
from packages_app.storage_check import storage_check
from tests.e2e import test_docker as docker_tests
from tests.e2e import test_skopeo as skopeo_tests
from tests.e2e import test_storm as storm
from tests.e2e.conftest import DOCKER, DockerEngine, WharfServer
from tests.e2e.test_docker import image_id, pushed_digest
from tests.e2e.topology import Topology, access_lines, connected, serving_node, topology, upload_hops
from tests.e2e.workers import drop_queue
from tests.oci import layer_tar
from tests.packages_app import conftest as stores
from tests.packages_app.conftest import BUCKET, S3Server, fresh_bucket, point_blobs_at

pytestmark = pytest.mark.e2e
swift_server = stores.swift_server  # the session's Swift (a fixture of the store tests)

# This run's Redis database (the machine's helpers each have their own number).
REDIS = os.environ.get("WHARF_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
NAME = "topo/app"
MIB = 1024 * 1024


@contextlib.contextmanager
def _running(request: pytest.FixtureRequest, settings: Any, tmp_path: Path, **kwargs: Any) -> Iterator[Topology]:
    swift: S3Server = request.getfixturevalue("swift_server")
    client = fresh_bucket(swift)
    point_blobs_at(settings, swift)  # this process's store (the consistency check) is the nodes' store
    s3 = {
        "WHARF_S3_BUCKET": BUCKET,
        "WHARF_S3_ENDPOINT_URL": swift.endpoint,
        "WHARF_S3_ACCESS_KEY_ID": swift.access_key,
        "WHARF_S3_SECRET_ACCESS_KEY": swift.secret_key,
    }
    queue = f"wharf-topo-{uuid.uuid4().hex[:10]}"
    try:
        with topology(tmp_path, s3, REDIS, queue, **kwargs) as running:
            yield running
    finally:
        client.close()
        storage.blob_store.cache_clear()
        drop_queue(REDIS, queue)


@pytest.fixture
def topo(request: pytest.FixtureRequest, transactional_db: None, settings: Any, tmp_path: Path) -> Iterator[Topology]:
    """Two nodes behind HAProxy on Swift, Redis and two Celery workers."""
    if not storm.redis_answers():
        pytest.skip(f"Redis does not answer at {REDIS}")
    with _running(request, settings, tmp_path) as running:
        yield running


def _patch(conn: http.client.HTTPConnection, location: str, data: bytes, start: int, marker: str) -> str:
    conn.request(
        "PATCH",
        f"{location}?{marker}",
        body=data,
        headers={"Content-Type": "application/octet-stream", "Content-Range": f"{start}-{start + len(data) - 1}"},
    )
    answer = conn.getresponse()
    answer.read()
    assert answer.status == 202, answer.status
    return str(answer.headers["Location"]).split("?")[0]


def _node_of(topo: Topology, needle: str) -> int:
    [number] = [n for n, node in enumerate(topo.nodes) if any(needle in path for _, path, _ in access_lines(node))]
    return number


def test_each_patch_of_a_chunked_upload_lands_on_another_node_and_the_blob_pulls_by_redirect(topo: Topology) -> None:
    data = random.Random(1).randbytes(4 * 6 * MIB + 123)
    conn = http.client.HTTPConnection("127.0.0.1", topo.lb.port, timeout=120)  # one kept-alive client connection
    conn.request("POST", f"/v2/{NAME}/blobs/uploads/")
    answer = conn.getresponse()
    answer.read()
    assert answer.status == 202
    location = str(answer.headers["Location"]).split("?")[0]
    chunks = [data[i : i + 6 * MIB] for i in range(0, len(data), 6 * MIB)]
    for number, chunk in enumerate(chunks):
        location = _patch(conn, location, chunk, number * 6 * MIB, f"chunk={number}")
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    conn.request("PUT", f"{location}?digest={digest}", body=b"")
    answer = conn.getresponse()
    answer.read()
    assert answer.status == 201
    assert answer.headers["Docker-Content-Digest"] == digest
    conn.close()

    nodes = [_node_of(topo, f"?chunk={number}") for number in range(len(chunks))]
    assert all(a != b for a, b in itertools.pairwise(nodes)), nodes  # from the nodes' own access logs
    print(f"\nPATCH 1..{len(chunks)} served by nodes {[n + 1 for n in nodes]}")
    _assert_pulls_by_redirect(topo, digest, data)


def _assert_pulls_by_redirect(topo: Topology, digest: str, data: bytes) -> None:
    answer = topo.lb.request("GET", f"/v2/{NAME}/blobs/{digest}")
    assert answer.status == 307
    assert answer.headers["Docker-Content-Digest"] == digest
    location = str(answer.headers["Location"])
    assert location.startswith(f"{topo.nodes[0].extra_env['WHARF_S3_ENDPOINT_URL']}/{BUCKET}/")  # the store itself
    with urllib.request.urlopen(location, timeout=60) as pulled:
        assert hashlib.sha256(pulled.read()).hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_node_killed_mid_push_the_retry_through_the_balancer_completes(topo: Topology) -> None:
    data = random.Random(2).randbytes(20 * MIB + 7)
    first = 6 * MIB
    start = topo.lb.request("POST", f"/v2/{NAME}/blobs/uploads/")
    assert start.status == 202
    location = str(start.headers["Location"]).split("?")[0]
    conn = http.client.HTTPConnection("127.0.0.1", topo.lb.port, timeout=120)
    location = _patch(conn, location, data[:first], 0, "chunk=0")
    conn.close()

    killed = _stream_and_kill(topo, location, data[first:])
    assert killed.process is None  # SIGKILLed with every worker

    status = topo.lb.request("GET", location)  # the client's retry: where did the upload get to?
    assert status.status == 204
    offset = int(str(status.headers["Range"]).split("-")[1]) + 1
    assert offset == first  # the killed chunk never committed
    conn = http.client.HTTPConnection("127.0.0.1", topo.lb.port, timeout=120)
    location = _patch(conn, location, data[offset:], offset, "chunk=retry")
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    conn.request("PUT", f"{location}?digest={digest}", body=b"")
    answer = conn.getresponse()
    answer.read()
    assert answer.status == 201
    conn.close()

    _assert_pulls_by_redirect(topo, digest, data)
    assert Blob.objects.filter(digest=digest).count() == 1
    assert not Upload.objects.exists()
    report = storage_check(verify=True)
    assert report.consistent, (report.orphan_keys, report.missing, report.corrupt)


def _stream_and_kill(topo: Topology, location: str, rest: bytes) -> Any:
    """Send ``rest`` as one chunked PATCH, slowly; half-way, SIGKILL the node serving it."""
    outcome: list[Any] = []

    def body() -> Iterator[bytes]:
        for offset in range(0, len(rest), 256 * 1024):
            if offset == len(rest) // 2 // (256 * 1024) * (256 * 1024):
                time.sleep(0.5)  # the node is busy with it now
                node = serving_node(topo.lb)
                node.kill()
                outcome.append(node)
            yield rest[offset : offset + 256 * 1024]

    def send() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", topo.lb.port, timeout=60)
        try:
            conn.request("PATCH", f"{location}?chunk=killed", body=body(), encode_chunked=True)
            outcome.append(conn.getresponse().status)
        except OSError as error:
            outcome.append(error)
        finally:
            conn.close()

    sender = threading.Thread(target=send)
    sender.start()
    sender.join(timeout=120)
    assert (outcome and not isinstance(outcome[-1], int)) or outcome[-1] >= 500, outcome  # the push failed
    return outcome[0]


def test_docker_pushes_a_multi_layer_image_and_a_two_platform_list_through_the_balancer(
    topo: Topology, docker_engine: DockerEngine, tmp_path: Path
) -> None:
    context = tmp_path / "layers"
    context.mkdir()
    for n in range(3):
        (context / f"layer{n}.bin").write_bytes(random.Random(n).randbytes((2 + n) << 20))
    (context / "Dockerfile").write_text("FROM scratch\n" + "".join(f"COPY layer{n}.bin /\n" for n in range(3)))
    repo = f"{topo.lb.host}/topo/layers"
    docker_engine.run("build", "-q", "-t", f"{repo}:v1", str(context))
    built = image_id(docker_engine, f"{repo}:v1")
    digest = pushed_digest(docker_engine.run("push", f"{repo}:v1"))
    docker_engine.run("rmi", "-f", built)
    docker_engine.run("pull", f"{repo}@{digest}")
    assert image_id(docker_engine, f"{repo}@{digest}") == built
    docker_engine.run("rmi", "-f", built)
    served = [line for node in topo.nodes for line in access_lines(node)]
    hops = upload_hops(topo.nodes)  # docker's own upload sessions: POST, PATCH, PUT and who served each
    assert len(hops) >= 4, hops  # three layers and the config
    for session, nodes in hops.items():
        assert len(nodes) >= 3, (session, nodes)
        assert all(a != b for a, b in itertools.pairwise(nodes)), (session, nodes)
    print(f"\ndocker's uploads, POST/PATCH/PUT served by nodes: {sorted(hops.values())}")
    blob_gets = [status for method, path, status in served if method == "GET" and "/topo/layers/blobs/" in path]
    assert len(blob_gets) >= 4
    assert set(blob_gets) == {307}  # three layers and the config, all redirects

    balancer: Any = topo.lb  # a WharfServer to the clients: host and request
    docker_tests.test_docker_manifest_pushes_a_two_platform_list_and_pull_picks_the_platform(
        balancer, docker_engine, tmp_path
    )


def _kill_the_node_streaming(topo: Topology, package: str, held: float = 1.0, timeout: float = 120) -> WharfServer:
    """SIGKILL the node in the middle of a PATCH to ``package``: while an upload session of it holds
    its write lease (taken when a PATCH starts, released when it ends), the node that has held the
    balancer's connection for ``held`` seconds (a health check or a small request takes milliseconds)."""
    deadline, busy_since = time.monotonic() + timeout, dict.fromkeys(range(len(topo.nodes)), 0.0)
    while time.monotonic() < deadline:
        writing = Upload.objects.filter(package__name=package, lease_until__gt=timezone.now()).exists()
        for number, node in enumerate(topo.nodes):
            if not writing or node.process is None or not connected(node):
                busy_since[number] = 0.0
            elif not busy_since[number]:
                busy_since[number] = time.monotonic()
            elif time.monotonic() - busy_since[number] >= held:
                node.kill()
                return node
        time.sleep(0.05)
    raise AssertionError(f"no PATCH to {package} held a node for {held} s")


def test_docker_retries_a_push_whose_node_was_killed_and_the_blob_verifies(
    topo: Topology, docker_engine: DockerEngine, tmp_path: Path
) -> None:
    context = tmp_path / "big"
    context.mkdir()
    (context / "layer.bin").write_bytes(random.Random(9).randbytes(96 * MIB))  # random: gzip leaves it 96 MiB
    (context / "Dockerfile").write_text("FROM scratch\nCOPY layer.bin /\n")
    repo = f"{topo.lb.host}/topo/killed"
    docker_engine.run("build", "-q", "-t", f"{repo}:v1", str(context))
    built = image_id(docker_engine, f"{repo}:v1")
    pushing = subprocess.Popen(
        [DOCKER, "push", f"{repo}:v1"], env=docker_engine.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        killed = _kill_the_node_streaming(topo, "topo/killed")
        output, _ = pushing.communicate(timeout=300)
    finally:
        if pushing.poll() is None:
            pushing.kill()
    assert pushing.returncode == 0, output
    assert killed.process is None, output
    assert "Retrying in" in output, output  # docker saw the cut and retried
    digest = pushed_digest(output)
    docker_engine.run("rmi", "-f", built)
    docker_engine.run("pull", f"{repo}@{digest}", timeout=300)
    assert image_id(docker_engine, f"{repo}@{digest}") == built
    docker_engine.run("rmi", "-f", built)
    report = storage_check(verify=True)  # every blob row has its bytes and they hash to the digest
    assert report.consistent, (report.orphan_keys, report.missing, report.corrupt)
    assert not report.leaked_uploads, report.leaked_uploads
    pushed = Manifest.objects.get(package__name="topo/killed", digest=digest)
    sizes = sorted(pushed.blobs.values_list("size", flat=True))
    assert len(sizes) == 2, sizes
    assert sizes[1] > 90 * MIB, sizes  # the config and the one layer, stored once


def test_skopeo_copies_an_index_in_and_out_through_the_balancer(topo: Topology, skopeo: str, tmp_path: Path) -> None:
    skopeo_tests.test_skopeo_copies_a_two_platform_index_byte_for_byte(topo.lb, skopeo, tmp_path)  # type: ignore[arg-type]
    redirects = [s for node in topo.nodes for m, p, s in access_lines(node) if m == "GET" and "/blobs/sha256:" in p]
    assert redirects
    assert set(redirects) == {307}
    assert re.search(r"/acme/multi/", " ".join(p for node in topo.nodes for _, p, _ in access_lines(node)))


GRACE = 10  # seconds: a push on two nodes over S3 takes a few; a grace of 0 starves every push


@pytest.fixture
def storm_topology(
    request: pytest.FixtureRequest, transactional_db: None, settings: Any, tmp_path: Path
) -> Iterator[tuple[Topology, storm.Worker]]:
    """The topology whose two workers (and this process) collect with a short grace period, so a
    deleted version's blobs go within the storm."""
    if not storm.redis_answers():
        pytest.skip(f"Redis does not answer at {REDIS}")
    collector = {"WHARF_GC_GRACE_SECONDS": str(GRACE), "WHARF_UPLOAD_TIMEOUT": str(GRACE)}
    settings.WHARF_GC_GRACE_SECONDS, settings.WHARF_UPLOAD_TIMEOUT = GRACE, GRACE
    with _running(request, settings, tmp_path, worker_env=collector) as running:
        app = Celery("storm-client", broker=REDIS, backend=REDIS)
        first = running.workers[0]
        try:
            yield running, storm.Worker(first.process, first.log, running.queue, app)
        finally:
            app.close()


def _verify_pull(topo: Topology, pushed: storm.Pushed) -> None:
    answer = topo.lb.request("GET", f"/v2/{pushed.name}/manifests/{pushed.tag}", headers={"Accept": storm.ACCEPT})
    assert answer.status == 200, f"{pushed.name}:{pushed.tag}: {answer.status}"
    assert answer.body == pushed.image.manifest, f"{pushed.name}:{pushed.tag}: {answer.status}"
    for digest in pushed.image.blobs:
        blob = topo.lb.request("GET", f"/v2/{pushed.name}/blobs/{digest}")
        assert blob.status == 307, f"{pushed.name}:{pushed.tag} lost {digest}: {blob.status}"
        with urllib.request.urlopen(str(blob.headers["Location"]), timeout=60) as stored:
            assert "sha256:" + hashlib.sha256(stored.read()).hexdigest() == digest


def test_the_gc_storm_on_two_nodes_with_two_workers_loses_nothing_and_leaves_nothing(
    storm_topology: tuple[Topology, storm.Worker], settings: Any
) -> None:
    topo, worker = storm_topology
    shared = [layer_tar({f"base{i}.txt": os.urandom(4096)}) for i in range(4)]
    stop, results, rounds = threading.Event(), list[Any](), [0]
    clients = [storm.Client(topo.lb, n, shared, rounds) for n in range(3)]  # type: ignore[arg-type]
    collector = threading.Thread(target=storm.collect_until, args=(stop, worker, results, rounds, None))
    threads = [threading.Thread(target=c.run) for c in clients]
    collector.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    time.sleep(GRACE + 1)  # the deleted versions' blobs come due; the collections go on
    stop.set()
    collector.join(timeout=120)
    assert [e for c in clients for e in c.errors] == []
    assert len([r.get(timeout=120) for r in results]) >= 3
    logs = [w.log.read_text(errors="replace") for w in topo.workers]
    assert all("collect_garbage" in log and "succeeded" in log for log in logs), "both workers collected"

    acknowledged = [p for c in clients for p in c.acknowledged.values()]
    assert len(acknowledged) >= len(clients) * storm.ROUNDS // 2
    for pushed in acknowledged:
        _verify_pull(topo, pushed)
    settings.WHARF_UPLOAD_TIMEOUT = 0  # once quiet: nothing unreferenced may stay
    quiet = gc.garbage_collect(grace_seconds=0)
    assert quiet.skipped == 0
    referenced = Manifest.blobs.through.objects.filter(blob_id=OuterRef("pk"))
    assert list(Blob.objects.filter(~Exists(referenced)).values_list("digest", flat=True)) == []
    assert storage_check(verify=True).consistent
    for pushed in acknowledged:
        _verify_pull(topo, pushed)
