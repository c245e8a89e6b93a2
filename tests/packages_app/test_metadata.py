"""Label and annotation extraction (issue 6): config labels, index annotations and their fallback to the
platform images, over-long values, configs that are not JSON or are huge, any order of the tasks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from packages_app import metadata, tasks
from packages_app.access import ANONYMOUS
from packages_app.models import Blob, Manifest, Package
from packages_app.services.packages import package_delete
from packages_app.services.tags import tag_delete
from packages_app.services.versions import version_delete, version_restore
from packages_app.storage import FileSystemBlobStore
from tests.oci import OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, Image, canonical, make_image, make_index, sha256

NAME = "acme/app"
DESCRIPTION = "org.opencontainers.image.description"
LICENSES = "org.opencontainers.image.licenses"
SOURCE = "org.opencontainers.image.source"


def push(registry: Any, image: Image, tag: str | None = "latest") -> Manifest:
    assert registry.push_image(NAME, image, tag).status_code == 201
    return Manifest.objects.get(package__name=NAME, digest=image.digest)


def push_index(registry: Any, children: list[tuple[Image, dict[str, str]]], tag: str = "latest", **kw: Any) -> Manifest:
    for image, _ in children:
        push(registry, image, None)
    body = make_index(children, **kw)
    assert registry.push_manifest(NAME, tag, body, OCI_INDEX).status_code == 201
    return Manifest.objects.get(package__name=NAME, digest=sha256(body))


def extract(manifest: Manifest) -> Manifest:
    metadata.manifest_extract_metadata(manifest_id=manifest.id)
    manifest.refresh_from_db()
    return manifest


def package() -> Package:
    return Package.objects.get(name=NAME)


def with_config(config: bytes) -> Image:
    """An image whose config blob is exactly ``config`` (whatever it holds)."""
    layer = make_image().layers[0]
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256(layer), "size": len(layer)}
        ],
    }
    return Image(config, [layer], canonical(doc), OCI_MANIFEST, {sha256(config): config, sha256(layer): layer})


AMD64 = {"os": "linux", "architecture": "amd64"}
ARM64 = {"os": "linux", "architecture": "arm64", "variant": "v8"}


def test_a_push_enqueues_extraction_once_the_manifest_is_committed(
    registry: Any, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    queued: list[int] = []
    monkeypatch.setattr(tasks.extract_metadata, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        manifest = push(registry, make_image(labels={DESCRIPTION: "hi"}))
    assert queued == []
    for callback in callbacks:
        callback()
    assert queued == [manifest.id]


def test_the_task_extracts_an_images_config_labels_and_platform(registry: Any) -> None:
    manifest = push(registry, make_image(labels={DESCRIPTION: "A web app", "x": "1"}, arch="arm64"))
    assert tasks.extract_metadata(manifest.id) is True
    manifest.refresh_from_db()
    assert manifest.labels == {DESCRIPTION: "A web app", "x": "1"}
    assert manifest.platforms == [{"os": "linux", "architecture": "arm64", "digest": manifest.digest}]
    assert manifest.extracted_at is not None
    assert package().description == "A web app"


def test_the_package_takes_description_licenses_and_source_from_its_labels(registry: Any) -> None:
    labels = {
        DESCRIPTION: "Line one\nline two",
        LICENSES: "MIT OR Apache-2.0",
        SOURCE: "https://git.example.com/acme/app",
    }
    extract(push(registry, make_image(labels=labels)))
    assert (package().description, package().licenses, package().source_url) == (
        "Line one\nline two",
        "MIT OR Apache-2.0",
        "https://git.example.com/acme/app",
    )


def test_an_images_own_annotations_override_its_config_labels(registry: Any) -> None:
    image = make_image(
        labels={DESCRIPTION: "from the config", "a": "1"}, annotations={DESCRIPTION: "from the manifest"}
    )
    assert extract(push(registry, image)).labels == {DESCRIPTION: "from the manifest", "a": "1"}


def test_an_index_takes_its_annotations_first_and_its_platform_images_labels_after(registry: Any) -> None:
    amd = make_image(labels={DESCRIPTION: "amd64 build", LICENSES: "MIT", "only.amd": "1"}, arch="amd64")
    arm = make_image(labels={DESCRIPTION: "arm64 build", "only.arm": "2"}, arch="arm64")
    index = push_index(registry, [(amd, AMD64), (arm, ARM64)], annotations={DESCRIPTION: "The index"})
    index = extract(index)
    assert index.labels == {DESCRIPTION: "The index", LICENSES: "MIT", "only.amd": "1", "only.arm": "2"}
    assert index.platforms == [AMD64 | {"digest": amd.digest}, ARM64 | {"digest": arm.digest}]
    assert (package().description, package().licenses) == ("The index", "MIT")


def test_an_index_without_annotations_falls_back_to_its_first_platform_image(registry: Any) -> None:
    amd = make_image(labels={DESCRIPTION: "amd64 build"}, arch="amd64")
    arm = make_image(labels={DESCRIPTION: "arm64 build"}, arch="arm64")
    assert extract(push_index(registry, [(amd, AMD64), (arm, ARM64)])).labels == {DESCRIPTION: "amd64 build"}
    assert package().description == "amd64 build"


def test_attestations_in_an_index_are_neither_platforms_nor_label_sources(registry: Any) -> None:
    amd = make_image(labels={DESCRIPTION: "real"}, arch="amd64")
    attestation = make_image(labels={DESCRIPTION: "attestation"}, seed="att")
    push(registry, amd, None)
    push(registry, attestation, None)
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            attestation.descriptor({"os": "unknown", "architecture": "unknown"})
            | {"annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
            amd.descriptor(AMD64),
        ],
    }
    assert registry.push_manifest(NAME, "latest", canonical(doc), OCI_INDEX).status_code == 201
    index = extract(Manifest.objects.get(digest=sha256(canonical(doc))))
    assert index.labels == {DESCRIPTION: "real"}
    assert index.platforms == [AMD64 | {"digest": amd.digest}]


def test_the_tasks_may_run_in_any_order(registry: Any) -> None:
    """The index's task before its children's, the children's after: the same result."""
    amd = make_image(labels={DESCRIPTION: "amd64 build"}, arch="amd64")
    index = push_index(registry, [(amd, AMD64)])
    child = Manifest.objects.get(digest=amd.digest)
    assert child.extracted_at is None
    extract(index)
    assert package().description == "amd64 build"
    extract(child)
    assert extract(index).labels == {DESCRIPTION: "amd64 build"}
    assert package().description == "amd64 build"


def test_a_child_extracted_first_leaves_the_package_to_its_tagged_index(registry: Any) -> None:
    amd = make_image(labels={DESCRIPTION: "child"}, arch="amd64")
    index = push_index(registry, [(amd, AMD64)], annotations={DESCRIPTION: "index"})
    extract(Manifest.objects.get(digest=amd.digest))  # refreshes the package from the tagged index
    assert package().description == "index"
    assert Manifest.objects.get(id=index.id).extracted_at is not None


def test_the_newest_tag_decides_and_a_re_push_updates_the_package(registry: Any) -> None:
    extract(push(registry, make_image(labels={DESCRIPTION: "one"}, seed="1"), "v1"))
    second = extract(push(registry, make_image(labels={DESCRIPTION: "two"}, seed="2"), "v2"))
    assert package().description == "two"
    first = extract(push(registry, make_image(labels={DESCRIPTION: "one"}, seed="1"), "latest"))  # v1's manifest
    assert package().description == "one"
    extract(first)  # idempotent
    extract(second)
    assert package().description == "one"


def test_labels_missing_from_the_newest_version_clear_the_package_fields(registry: Any) -> None:
    extract(push(registry, make_image(labels={DESCRIPTION: "old", LICENSES: "MIT"}, seed="1")))
    extract(push(registry, make_image(labels={}, seed="2")))
    assert (package().description, package().licenses) == ("", "")


def test_over_long_and_unsafe_values_are_cut_or_dropped(registry: Any) -> None:
    labels = {
        DESCRIPTION: "<b>Bold</b>\x00\x1b[31m " + "d" * 2000,
        LICENSES: "MIT\n" + "L" * 1000,
        SOURCE: "https://example.com/" + "s" * 3000,
        "k" * 1000: "v" * 10000,
    }
    manifest = extract(push(registry, make_image(labels=labels)))
    pkg = package()
    assert pkg.description.startswith("Bold[31m ddd")
    assert len(pkg.description) == 512
    assert pkg.description.endswith("…")
    assert "\x00" not in pkg.description
    assert "\x1b" not in pkg.description
    assert "<b>" not in pkg.description
    assert len(pkg.licenses) == 256
    assert "\n" not in pkg.licenses
    assert pkg.source_url == ""
    assert {len(k) for k in manifest.labels} <= {256, len(DESCRIPTION), len(LICENSES), len(SOURCE)}
    assert max(len(v) for v in manifest.labels.values()) == 4096


@pytest.mark.parametrize("source", ["javascript:alert(1)", "ftp://example.com/x", "https://", "https://a b", "git@x:y"])
def test_a_source_that_is_not_an_http_url_is_dropped(registry: Any, source: str) -> None:
    extract(push(registry, make_image(labels={SOURCE: source})))
    assert package().source_url == ""


def test_non_string_labels_and_too_many_labels_are_dropped(registry: Any) -> None:
    config = canonical({"os": "linux", "architecture": "amd64", "config": {"Labels": {"n": 1, "ok": "yes", "l": []}}})
    assert extract(push(registry, with_config(config))).labels == {"ok": "yes"}
    many = canonical({"config": {"Labels": {f"k{i:04}": "v" for i in range(1000)}}})
    assert len(extract(push(registry, with_config(many), "many")).labels) == metadata.MAX_LABELS


@pytest.mark.parametrize(
    "config", [b"\x00\xff not json", b"[1, 2]", b'{"config": "x"}', b'{"config": {"Labels": null}}', b"", b"{" * 100000]
)
def test_a_config_that_is_not_a_json_object_gives_no_labels_and_no_error(registry: Any, config: bytes) -> None:
    manifest = extract(push(registry, with_config(config)))
    assert manifest.labels == {}
    assert manifest.platforms == []
    assert manifest.extracted_at is not None
    assert package().description == ""


def test_a_huge_config_is_not_read_and_gives_no_labels(registry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    padding = "x" * (metadata.CONFIG_READ_LIMIT + 1)
    config = canonical({"config": {"Labels": {DESCRIPTION: "never read"}}, "padding": padding})
    manifest = push(registry, with_config(config))

    def refuse(self: Any, key: str) -> Any:
        raise AssertionError("a config over the limit must not be opened")

    monkeypatch.setattr(FileSystemBlobStore, "open", refuse)
    assert extract(manifest).labels == {}
    assert package().description == ""


def test_a_config_is_read_only_up_to_the_limit(registry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even when the row's size were wrong, no more than the limit (plus one byte) is read."""
    config = canonical({"config": {"Labels": {DESCRIPTION: "x" * 300}}})
    manifest = push(registry, with_config(config))
    monkeypatch.setattr(metadata, "CONFIG_READ_LIMIT", 100)
    real_open = FileSystemBlobStore.open
    reads: list[int] = []

    class Counting:
        def __init__(self, stream: Any) -> None:
            self.stream = stream

        def read(self, size: int = -1) -> bytes:
            data: bytes = self.stream.read(size)
            reads.append(len(data))
            return data

        def __enter__(self) -> Counting:
            return self

        def __exit__(self, *exc: object) -> None:
            self.stream.close()

    monkeypatch.setattr(FileSystemBlobStore, "open", lambda self, key: Counting(real_open(self, key)))
    Blob.objects.filter(digest=sha256(config)).update(size=50)  # a lying size
    assert extract(manifest).labels == {}
    assert sum(reads) <= 101


def test_a_manifest_deleted_before_its_task_ran_is_no_error(registry: Any) -> None:
    manifest = push(registry, make_image())
    manifest_id = manifest.id
    manifest.delete()
    assert tasks.extract_metadata(manifest_id) is False


def test_the_catch_up_task_extracts_what_was_never_extracted(registry: Any) -> None:
    push(registry, make_image(labels={DESCRIPTION: "late"}))
    assert tasks.extract_pending_metadata() == 1
    assert tasks.extract_pending_metadata() == 0
    assert package().description == "late"


def test_the_source_repository_hook_is_called_with_the_source(registry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(
        metadata, "package_link_source_repository", lambda *, package, source_url: calls.append(source_url)
    )
    extract(push(registry, make_image(labels={SOURCE: "https://git.example.com/acme/app"})))
    assert calls == ["https://git.example.com/acme/app"]


def test_labels_are_json_serialisable_as_stored(registry: Any) -> None:
    manifest = extract(push(registry, make_image(labels={"é": "ü"})))
    assert json.loads(json.dumps(manifest.labels)) == {"é": "ü"}


def test_deleting_or_restoring_a_version_or_a_tag_refreshes_the_package_after_the_commit(
    registry: Any, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:

    queued: list[int] = []
    monkeypatch.setattr(tasks.refresh_package_metadata, "delay", queued.append)
    extract(push(registry, make_image(labels={DESCRIPTION: "one", LICENSES: "MIT"}, seed="1"), "v1"))
    newest = extract(push(registry, make_image(labels={DESCRIPTION: "two", LICENSES: "GPL"}, seed="2"), "v2"))
    assert (package().description, package().licenses) == ("two", "GPL")

    def run(change: Any) -> None:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            change()
        assert queued == []  # not before the commit
        for callback in callbacks:
            callback()
        assert queued == [package().id]
        assert tasks.refresh_package_metadata(queued.pop()) is True

    run(lambda: version_delete(manifest=newest, actor=ANONYMOUS))
    assert (package().description, package().licenses) == ("one", "MIT")
    run(lambda: version_restore(manifest=Manifest.objects.get(id=newest.id), actor=ANONYMOUS))
    assert package().description == "two"
    run(lambda: tag_delete(name=NAME, tag="v2"))
    assert package().description == "one"
    run(lambda: tag_delete(name=NAME, tag="v1"))
    assert (package().description, package().licenses) == ("", "")  # no tagged version is left


def test_the_refresh_task_of_a_deleted_package_does_nothing(registry: Any) -> None:

    extract(push(registry, make_image(labels={DESCRIPTION: "kept"})))
    package_delete(package=package(), actor=ANONYMOUS)
    deleted = Package.all_objects.get(name=NAME)
    assert tasks.refresh_package_metadata(deleted.id) is False
    assert Package.all_objects.get(id=deleted.id).description == "kept"
