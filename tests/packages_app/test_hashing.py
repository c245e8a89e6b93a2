from __future__ import annotations

import hashlib
import random

import pytest

from packages_app.hashing import ResumableHash, digest_bytes

DATA = random.Random(7).randbytes(3000)
# Block boundaries (64 and 128 bytes), their neighbours, and the ends.
SPLITS = [0, 1, 55, 63, 64, 65, 111, 127, 128, 129, 1000, 2999, 3000]


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
def test_a_fresh_hash_matches_hashlib(algorithm: str) -> None:
    hasher = ResumableHash(algorithm)
    hasher.update(DATA)
    assert hasher.hexdigest() == hashlib.new(algorithm, DATA).hexdigest()


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
def test_the_empty_input_matches_hashlib(algorithm: str) -> None:
    assert ResumableHash(algorithm).hexdigest() == hashlib.new(algorithm).hexdigest()


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
@pytest.mark.parametrize("split", SPLITS)
def test_a_hash_saved_and_restored_at_any_point_matches_hashlib(algorithm: str, split: int) -> None:
    first = ResumableHash(algorithm)
    first.update(DATA[:split])
    resumed = ResumableHash(algorithm, bytes(first.state()))
    resumed.update(DATA[split:])
    assert resumed.hexdigest() == hashlib.new(algorithm, DATA).hexdigest()


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
def test_a_hash_saved_and_restored_many_times_matches_hashlib(algorithm: str) -> None:
    cuts = sorted(random.Random(algorithm).sample(range(1, len(DATA)), 40))
    state = ResumableHash(algorithm).state()
    for start, end in zip([0, *cuts], [*cuts, len(DATA)], strict=True):
        hasher = ResumableHash(algorithm, state)
        hasher.update(DATA[start:end])
        state = hasher.state()
    assert ResumableHash(algorithm, state).hexdigest() == hashlib.new(algorithm, DATA).hexdigest()


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
def test_hexdigest_does_not_disturb_further_updates(algorithm: str) -> None:
    hasher = ResumableHash(algorithm)
    hasher.update(DATA[:100])
    state = hasher.state()
    assert hasher.hexdigest() == hashlib.new(algorithm, DATA[:100]).hexdigest()
    assert hasher.state() == state
    hasher.update(DATA[100:])
    assert hasher.hexdigest() == hashlib.new(algorithm, DATA).hexdigest()
    assert hasher.hexdigest() == hashlib.new(algorithm, DATA).hexdigest()


def test_the_state_is_plain_bytes_that_survive_a_memoryview() -> None:
    """PostgreSQL hands a BinaryField back as a memoryview."""
    hasher = ResumableHash("sha256")
    hasher.update(DATA[:10])
    resumed = ResumableHash("sha256", memoryview(hasher.state()))
    resumed.update(DATA[10:])
    assert resumed.hexdigest() == hashlib.sha256(DATA).hexdigest()


@pytest.mark.parametrize("state", [b"", b"x" * 111, b"x" * 113, b"x" * 216])
def test_it_refuses_a_sha256_state_of_the_wrong_size(state: bytes) -> None:
    with pytest.raises(ValueError, match="wrong size"):
        ResumableHash("sha256", state)


def test_it_refuses_a_sha256_state_for_sha512() -> None:
    with pytest.raises(ValueError, match="wrong size"):
        ResumableHash("sha512", ResumableHash("sha256").state())


def test_it_refuses_an_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        ResumableHash("md5")


def test_digest_bytes_names_the_algorithm() -> None:
    assert digest_bytes(b"abc") == "sha256:" + hashlib.sha256(b"abc").hexdigest()
    assert digest_bytes(b"abc", "sha512") == "sha512:" + hashlib.sha512(b"abc").hexdigest()
