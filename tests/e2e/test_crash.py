"""A server killed with SIGKILL in the middle of a PATCH (master and workers, as a power cut would)
leaves no blob visible; after a restart on the same data the upload resumes from its last committed
offset (or a new one starts from scratch), and the finished blob verifies.

Each test waits once for the killed writer's lease to lapse (upload_leases.LEASE_SECONDS, ~15 s).
"""

from __future__ import annotations

import hashlib
import os
import socket
import time

import pytest

from packages_app.models import Blob, Upload
from tests.e2e.conftest import WharfServer
from tests.oci import sha256

pytestmark = pytest.mark.e2e

MiB = 1 << 20
NAME = "acme/crash"


def start_upload(server: WharfServer) -> str:
    started = server.request("POST", f"/v2/{NAME}/blobs/uploads/")
    assert started.status == 202, started
    location = started.headers["Location"]
    assert location.startswith(f"/v2/{NAME}/blobs/uploads/")
    return location


def upload_file(server: WharfServer, location: str) -> str:
    return str(server.blob_dir / "_uploads" / location.rsplit("/", 1)[1])


def open_patch(server: WharfServer, location: str, *, length: int | None) -> socket.socket:
    """Start a PATCH by hand, so the test decides how much of the body is ever sent."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    framing = "Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}"
    head = [f"PATCH {location} HTTP/1.1", f"Host: {server.host}", "Content-Type: application/octet-stream", framing]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    return sock


def send_body(sock: socket.socket, data: bytes, *, chunked: bool) -> None:
    for at in range(0, len(data), MiB):
        piece = data[at : at + MiB]
        sock.sendall(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)


def wait_for_bytes_on_disk(path: str, size: int, timeout: float = 30) -> None:
    """The server has read and written at least ``size`` bytes of the upload: it is mid-PATCH."""
    deadline = time.monotonic() + timeout
    while not (os.path.exists(path) and os.path.getsize(path) >= size):
        assert time.monotonic() < deadline, f"the server wrote {os.path.getsize(path)} bytes, expected {size}"
        time.sleep(0.05)


def kill_mid_patch(server: WharfServer, location: str, *, data: bytes, on_disk: int, chunked: bool) -> None:
    """Send ``data`` as the start of a longer PATCH body, and SIGKILL the server once it is writing it."""
    sock = open_patch(server, location, length=None if chunked else len(data) + 16 * MiB)
    try:
        send_body(sock, data, chunked=chunked)
        wait_for_bytes_on_disk(upload_file(server, location), on_disk)
        server.kill()
    finally:
        sock.close()
    server.start()


def assert_not_visible(server: WharfServer, digest: str) -> None:
    assert server.request("HEAD", f"/v2/{NAME}/blobs/{digest}").status == 404
    assert not Blob.objects.filter(digest=digest).exists()
    assert not (server.blob_dir / "sha256" / digest[7:9] / digest[7:]).exists()


def assert_session_holds(server: WharfServer, location: str, offset: int, sent: int) -> None:
    """GET on the session (end-13) reports only committed bytes: never more than were sent."""
    status = server.request("GET", location)
    assert status.status == 204
    first, last = (int(n) for n in status.headers["Range"].split("-"))
    assert first == 0
    assert last + 1 == max(offset, 1)
    assert last < sent  # "0-0" for an empty session
    assert Upload.objects.get(id=location.rsplit("/", 1)[1]).offset == offset


def finish_and_verify(server: WharfServer, location: str, data: bytes) -> None:
    digest = sha256(data)
    finished = server.request("PUT", f"{location}?digest={digest}")
    assert finished.status == 201, finished
    assert finished.headers["Docker-Content-Digest"] == digest
    got = server.request("GET", f"/v2/{NAME}/blobs/{digest}")
    assert got.status == 200
    assert hashlib.sha256(got.body).hexdigest() == digest[7:]
    assert Blob.objects.get(digest=digest).size == len(data)
    assert not Upload.objects.filter(id=location.rsplit("/", 1)[1]).exists()
    assert not os.path.exists(upload_file(server, location))


def test_a_patch_killed_half_way_resumes_from_the_last_committed_chunk(wharf_server: WharfServer) -> None:
    data = os.urandom(64 * MiB)
    location = start_upload(wharf_server)
    first = wharf_server.request("PATCH", location, data[: 8 * MiB], {"Content-Type": "application/octet-stream"})
    assert (first.status, first.headers["Range"]) == (202, f"0-{8 * MiB - 1}")

    # The second chunk is chunked (as Docker sends layers); 24 MiB of it are sent, then the power goes.
    kill_mid_patch(wharf_server, location, data=data[8 * MiB : 32 * MiB], on_disk=16 * MiB, chunked=True)

    assert_not_visible(wharf_server, sha256(data))
    assert_session_holds(wharf_server, location, offset=8 * MiB, sent=32 * MiB)
    rest = wharf_server.request(  # waits for the killed writer's lease to lapse
        "PATCH",
        location,
        data[8 * MiB :],
        {"Content-Type": "application/octet-stream", "Content-Range": f"{8 * MiB}-{len(data) - 1}"},
    )
    assert (rest.status, rest.headers["Range"]) == (202, f"0-{len(data) - 1}"), rest
    finish_and_verify(wharf_server, location, data)


def test_a_patch_killed_half_way_can_be_abandoned_for_a_new_upload(wharf_server: WharfServer) -> None:
    data = os.urandom(64 * MiB)
    abandoned = start_upload(wharf_server)

    kill_mid_patch(wharf_server, abandoned, data=data[: 24 * MiB], on_disk=8 * MiB, chunked=False)

    assert_not_visible(wharf_server, sha256(data))
    assert_session_holds(wharf_server, abandoned, offset=0, sent=24 * MiB)
    location = start_upload(wharf_server)
    whole = wharf_server.request("PATCH", location, data, {"Content-Type": "application/octet-stream"})
    assert (whole.status, whole.headers["Range"]) == (202, f"0-{len(data) - 1}")
    finish_and_verify(wharf_server, location, data)
    assert wharf_server.request("DELETE", abandoned).status == 204  # waits for the lease, then cleans up
    assert not Upload.objects.filter(id=abandoned.rsplit("/", 1)[1]).exists()
    assert not os.path.exists(upload_file(wharf_server, abandoned))
