"""The S3 store (django-storages' ``S3Storage``; AWS, MinIO, Swift's s3api and the like).

A multipart upload is opened when the session starts and a part is sent each time ``part_size`` bytes
have arrived; a remainder smaller than a part at the end of a chunk is kept as a small ``tail`` object
and rejoined by the next chunk. Committing completes the multipart upload, so nothing is re-read;
abandoned uploads are aborted. Blobs are served by a short-lived presigned URL."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import IO, Any

from ..exceptions import UploadGone
from ..names import Digest
from .base import UploadArea, UploadWriter, upload_id_of


class _S3Writer:
    def __init__(self, store: S3BlobStore, upload_id: str, offset: int, state: dict[str, Any]) -> None:
        self.store, self.upload_id, self.state = store, upload_id, dict(state)
        self.state["parts"] = list(state["parts"])
        self.buffer = bytearray()
        # Tails other than the committed one were left by chunks that never got recorded.
        store.delete_tails(upload_id, keep=state.get("tail"))
        if state.get("tail"):
            try:
                self.buffer += store.read_object(state["tail"])
            except store.client.exceptions.NoSuchKey:
                raise UploadGone() from None  # committed (tails go then) or removed meanwhile
        self.buffer_start = offset - len(self.buffer)
        self.written = 0

    def write(self, data: bytes | memoryview) -> None:
        self.buffer += data
        self.written += len(data)
        size = self.store.part_size
        while len(self.buffer) >= size:
            with memoryview(self.buffer) as view, view[:size] as head:
                part = bytes(head)  # one copy; the views are released before the buffer shrinks
            self._send_part(part)
            del part, self.buffer[:size]
            self.buffer_start += size

    def _send_part(self, data: bytes) -> None:
        number = len(self.state["parts"]) + 1
        try:
            etag = self.store.upload_part(self.upload_id, self.state["mpu"], number, data)
        except self.store.client.exceptions.ClientError:
            if not self.store.multipart_open(self.upload_id, self.state["mpu"]):
                raise UploadGone() from None  # completed by a commit whose request died, or aborted
            raise
        self.state["parts"].append({"PartNumber": number, "ETag": etag, "Size": len(data)})

    def finish(self) -> dict[str, Any]:
        if not self.written:
            return self.state
        # A tail object's name carries its start and end offsets, so a chunk whose new state is never
        # recorded (it died half-way, or before the database commit) cannot overwrite the tail the
        # committed state still points at.
        if self.buffer:
            end = self.buffer_start + len(self.buffer)
            key = f"_uploads/{self.upload_id}/tail-{self.buffer_start}-{end}"
            self.store.put_object(key, bytes(self.buffer))
            self.state["tail"] = key
        else:
            self.state["tail"] = None
        return self.state

    def abort(self) -> None:
        self.buffer = bytearray()


class S3BlobStore:
    def __init__(self, storage: Any, part_size: int) -> None:
        self.storage = storage
        self.part_size = part_size

    @property
    def client(self) -> Any:
        return with_content_md5(self.storage.connection.meta.client)

    @property
    def bucket(self) -> str:
        return str(self.storage.bucket_name)

    def _key(self, key: str) -> str:
        return str(self.storage._normalize_name(key))

    def _final_key(self, upload_id: str) -> str:
        return f"_blobs/{upload_id}"

    def read_object(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read())

    def put_object(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def upload_part(self, upload_id: str, mpu: str, number: int, data: bytes) -> str:
        key = self._key(self._final_key(upload_id))
        answer = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=mpu, PartNumber=number, Body=data)
        return str(answer["ETag"])

    def start(self, upload_id: str) -> dict[str, Any]:
        key = self._key(self._final_key(upload_id))
        mpu = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        return {"mpu": mpu, "parts": [], "tail": None}

    def writer(self, upload_id: str, offset: int, state: dict[str, Any]) -> UploadWriter:
        return _S3Writer(self, upload_id, offset, state)

    def commit(self, upload_id: str, state: dict[str, Any], digest: Digest) -> str:
        parts = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in state["parts"]]
        key = self._final_key(upload_id)
        if state.get("tail"):
            last = len(parts) + 1
            parts.append(
                {
                    "PartNumber": last,
                    "ETag": self.upload_part(upload_id, state["mpu"], last, self.read_object(state["tail"])),
                }
            )
        if parts:
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=self._key(key), UploadId=state["mpu"], MultipartUpload={"Parts": parts}
            )
        else:  # the empty blob: S3 will not complete a multipart upload without parts
            self.put_object(key, b"")
            self._abort_multipart(upload_id, state)
        self.delete_tails(upload_id)
        return key

    def committed(self, upload_id: str, state: dict[str, Any]) -> str | None:
        key = self._final_key(upload_id)
        return key if self.exists(key) else None

    def multipart_open(self, upload_id: str, mpu: str) -> bool:
        """Whether the multipart upload ``mpu`` can still take parts (not completed, not aborted)."""
        key = self._key(self._final_key(upload_id))
        try:
            self.client.list_parts(Bucket=self.bucket, Key=key, UploadId=mpu, MaxParts=1)
        except self.client.exceptions.NoSuchUpload:
            return False
        return True

    def _abort_multipart(self, upload_id: str, state: dict[str, Any]) -> None:
        if not state.get("mpu"):
            return
        key = self._key(self._final_key(upload_id))
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=state["mpu"])
        except self.client.exceptions.ClientError as error:
            # Gone already: AWS and moto say NoSuchUpload, Swift's s3api NoSuchKey.
            if error.response.get("Error", {}).get("Code") not in {"NoSuchUpload", "NoSuchKey"}:
                raise

    def delete_tails(self, upload_id: str, keep: str | None = None) -> None:
        """Delete the upload's tail objects but ``keep``, a listing page (1,000 keys) at a time."""
        kept = self._key(keep) if keep else None
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(f"_uploads/{upload_id}/")
        )
        for page in pages:
            keys = [{"Key": item["Key"]} for item in page.get("Contents", []) if item["Key"] != kept]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})

    def discard(self, upload_id: str, state: dict[str, Any]) -> None:
        self._abort_multipart(upload_id, state)
        self.delete_tails(upload_id)
        # The upload's own key is never shared: if a commit got as far as completing it, it goes too.
        self.client.delete_object(Bucket=self.bucket, Key=self._key(self._final_key(upload_id)))

    def upload_areas(self) -> Iterator[UploadArea]:
        """Multipart uploads under ``_blobs/`` not completed yet, and the tails under ``_uploads/``."""
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self._key("_blobs/")
        )
        for page in pages:
            for item in page.get("Uploads", []):
                state = {"mpu": item["UploadId"], "parts": [], "tail": None}
                yield UploadArea(upload_id_of(item["Key"]), item["Initiated"], state)
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key("_uploads/"))
        for page in pages:
            for item in page.get("Contents", []):
                upload_id = str(item["Key"]).split("_uploads/", 1)[1].split("/", 1)[0]
                yield UploadArea(upload_id, item["LastModified"], {})

    def discard_area(self, area: UploadArea) -> None:
        self._abort_multipart(area.upload_id, area.state)
        self.delete_tails(area.upload_id)

    def open(self, key: str) -> IO[bytes]:
        body: IO[bytes] = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        return body

    def local_path(self, key: str) -> str | None:
        return None

    def url(self, key: str) -> str | None:
        return str(self.storage.url(key))

    def exists(self, key: str) -> bool:
        return bool(self.storage.exists(key))

    def delete(self, key: str) -> None:
        self.storage.delete(key)

    def stored_keys(self, after: str = "") -> Iterator[str]:
        location = str(self.storage.location or "").strip("/")
        prefix = f"{location}/" if location else ""
        listing = {"Bucket": self.bucket, "Prefix": prefix} | ({"StartAfter": prefix + after} if after else {})
        for page in self.client.get_paginator("list_objects_v2").paginate(**listing):
            for item in page.get("Contents", []):
                key = str(item["Key"])[len(prefix) :].lstrip("/")
                if not key.startswith("_uploads/"):
                    yield key


def with_content_md5(client: Any) -> Any:
    """S3 requires Content-MD5 on DeleteObjects (Swift's s3api enforces it); botocore now sends a CRC
    checksum instead, which AWS accepts and other implementations refuse. Registered once per client."""
    client.meta.events.register("before-sign.s3.DeleteObjects", _content_md5, unique_id="wharf-content-md5")
    return client


def _content_md5(request: Any, **kwargs: Any) -> None:
    body = request.body if isinstance(request.body, bytes) else bytes(request.body or b"")
    request.headers["Content-MD5"] = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
