"""S3 sources against a real moto server on 127.0.0.1 (started and stopped here; no mocks)."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_mlsec.artifacts.keras_format import _SourceFile
from pytest_mlsec.sources.s3 import S3Error, S3Source, parse_s3_uri, walk_s3
from tests.artifacts_formats.builders import torch_zip

pytestmark = pytest.mark.aws
FIXTURES = Path(__file__).parent / "fixtures"
TENSOR_BYTES = 8 << 20


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def client(endpoint: str) -> Any:
    import boto3

    c = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    c.create_bucket(Bucket="models")
    # a torch-style zip: small pickle first, then a large stored tensor member
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        with zipfile.ZipFile(FIXTURES / "ckpt_small.pt") as src:
            zf.writestr("archive/data.pkl", src.read("ckpt_small/data.pkl"))
        zf.writestr("archive/byteorder", b"little")
        zf.writestr("archive/data/0", os.urandom(TENSOR_BYTES))
        zf.writestr("archive/data/1", os.urandom(1 << 20))
        zf.writestr("archive/version", b"3\n")
    c.put_object(Bucket="models", Key="bert/pytorch_model.bin", Body=buf.getvalue())
    c.put_object(Bucket="models", Key="bert/config.json", Body=b'{"model_type": "bert"}')
    c.put_object(Bucket="models", Key="bert/", Body=b"")  # console folder marker
    c.put_object(Bucket="models", Key="other.txt", Body=b"x")
    return c


def options(endpoint: str) -> dict[str, Any]:
    return {"endpoint_url": endpoint, "region": "us-east-1"}


def test_parse_uri() -> None:
    assert parse_s3_uri("s3://b/k/x.pt") == ("b", "k/x.pt")
    assert parse_s3_uri("s3://b") == ("b", "")
    with pytest.raises(S3Error):
        parse_s3_uri("https://b/k")
    with pytest.raises(S3Error):
        parse_s3_uri("s3:///k")


def test_zip_checkpoint_scanned_without_downloading_tensors(client: Any, endpoint: str) -> None:
    [(location, source)] = list(walk_s3("s3://models/bert/pytorch_model.bin", options(endpoint)))
    assert location.resource == "s3://models/bert/pytorch_model.bin"
    assert source.size > TENSOR_BYTES
    # read it the way a zip scanner does: tail, central directory, every local header, the pickle
    with zipfile.ZipFile(_SourceFile(source)) as zf:
        infos = zf.infolist()
        for info in infos:
            header = source.read(info.header_offset, 30)
            assert header[:4] == b"PK\x03\x04"
        pickle = zf.read("archive/data.pkl")
    assert pickle.startswith(b"\x80\x02")
    assert pickle.endswith(b".")
    assert source.stats.bytes_fetched < 256 << 10, source.stats
    assert source.stats.bytes_fetched < source.size / 50
    assert source.stats.requests <= 12


def test_prefix_walk_lists_objects_sorted_and_skips_folder_markers(client: Any, endpoint: str) -> None:
    got = [loc.resource for loc, _ in walk_s3("s3://models/bert/", options(endpoint))]
    assert got == ["s3://models/bert/config.json", "s3://models/bert/pytorch_model.bin"]
    # without the trailing slash a missing object name is taken as a folder
    assert [loc.resource for loc, _ in walk_s3("s3://models/bert", options(endpoint))] == got
    assert len(list(walk_s3("s3://models", options(endpoint)))) == 3


def test_reads_are_exact(client: Any, endpoint: str) -> None:
    [(_, source)] = list(walk_s3("s3://models/bert/config.json", options(endpoint)))
    assert source.read(0, 1000) == b'{"model_type": "bert"}'
    assert source.read(3, 4) == b"odel"
    assert source.read(22, 5) == b""
    with pytest.raises(ValueError):
        source.read(-1, 2)


@pytest.mark.parametrize(
    ("uri", "code"),
    [
        ("s3://no-such-bucket/x.pt", "NoSuchBucket"),
        ("s3://models/missing.pt", "NoSuchKey"),
        ("s3://models/missing-prefix/", "NoSuchKey"),
    ],
)
def test_missing_targets_raise_s3error(client: Any, endpoint: str, uri: str, code: str) -> None:
    with pytest.raises(S3Error) as info:
        list(walk_s3(uri, options(endpoint)))
    assert info.value.code in (code, "404", "NoSuchBucket", "NoSuchKey")
    assert uri.split("/")[2] in str(info.value)
    assert isinstance(info.value, OSError)


def test_object_replaced_during_scan_is_an_error(client: Any, endpoint: str) -> None:
    client.put_object(Bucket="models", Key="swap.bin", Body=b"A" * 100)
    [(_, source)] = list(walk_s3("s3://models/swap.bin", options(endpoint)))
    client.put_object(Bucket="models", Key="swap.bin", Body=b"B" * 100)
    with pytest.raises(S3Error) as info:
        source.read(0, 10)
    assert "changed" in str(info.value)


def test_unreachable_endpoint_is_an_s3error() -> None:
    with pytest.raises(S3Error):
        list(walk_s3("s3://models/x.pt", {"endpoint_url": "http://127.0.0.1:9", "region": "us-east-1"}))


def test_source_over_explicit_client(client: Any) -> None:
    source = S3Source(client, "models", "other.txt", 1)
    assert source.read(0, 1) == b"x"
    assert source.uri == "s3://models/other.txt"


class _Requested:
    """Forwards reads and records the ranges the scanner asked for (to compare with what was fetched)."""

    def __init__(self, source: S3Source) -> None:
        self.source = source
        self.ranges: list[tuple[int, int]] = []

    @property
    def size(self) -> int:
        return self.source.size

    def read(self, offset: int, length: int) -> bytes:
        data = self.source.read(offset, length)
        self.ranges.append((offset, offset + len(data)))
        return data

    def unique_bytes(self) -> int:
        total, end = 0, -1
        for a, b in sorted(self.ranges):
            if b > end:
                total += b - max(a, end)
                end = b
        return total


def _dispatch(uri: str, endpoint: str) -> tuple[list, list[_Requested]]:
    """Scan through the core dispatcher, keeping the sources to count what they downloaded."""
    from pytest_mlsec.artifacts.base import ScanOptions
    from pytest_mlsec.artifacts.scanner import Dispatcher

    findings: list = []
    sources: list[_Requested] = []
    for location, source in walk_s3(uri, options(endpoint)):
        spy = _Requested(source)
        sources.append(spy)
        findings.extend(Dispatcher(ScanOptions()).scan(spy, location))
    return findings, sources


def test_full_scan_of_large_checkpoint_fetches_only_metadata(client: Any, endpoint: str) -> None:
    # zero-filled storages: their first byte is not a pickle opcode, so the scanner never sniffs into them
    big = {f"layer{i}.weight": bytes(1 << 20) for i in range(16)}  # 16 MiB of tensors
    client.put_object(Bucket="models", Key="big/model.pt", Body=torch_zip(big))
    findings, [spy] = _dispatch("s3://models/big/model.pt", endpoint)
    assert [f for f in findings if f.severity >= 3] == []
    assert spy.source.stats.bytes_fetched < 256 << 10, spy.source.stats
    assert spy.source.stats.bytes_fetched * 60 < spy.size


def test_fetches_stay_close_to_what_the_scanner_reads(client: Any, endpoint: str) -> None:
    """Whatever the scanner decides to read, the source adds at most its small minimum fetch per request."""
    rng = __import__("random").Random(7)
    tensors = {f"t{i}": bytes(rng.getrandbits(8) for _ in range(1 << 12)) * 64 for i in range(6)}  # 256 KiB each
    client.put_object(Bucket="models", Key="mixed/model.pt", Body=torch_zip(tensors))
    _, [spy] = _dispatch("s3://models/mixed/model.pt", endpoint)
    stats = spy.source.stats
    assert stats.bytes_fetched <= spy.unique_bytes() + stats.requests * (4 << 10) + (64 << 10), (
        stats,
        spy.unique_bytes(),
    )


def test_full_scan_finds_payload_in_remote_checkpoint(client: Any, endpoint: str) -> None:
    payload = b"cposix\nsystem\n(X\x02\x00\x00\x00idtR0"  # os.system('id'), result popped
    data = torch_zip({"w": bytes(2 << 20)}, payload=payload)
    client.put_object(Bucket="models", Key="evil/model.pt", Body=data)
    findings, [spy] = _dispatch("s3://models/evil/", endpoint)
    assert spy.source.stats.bytes_fetched < 512 << 10
    assert any(f.severity >= 4 and f.location.resource == "s3://models/evil/model.pt" for f in findings)


def test_scan_target_turns_s3_errors_into_remote_unreadable(client: Any, endpoint: str) -> None:
    from pytest_mlsec.artifacts.base import ScanOptions
    from pytest_mlsec.artifacts.scanner import scan_target

    findings = scan_target("s3://models/does-not-exist.pt", ScanOptions(), options(endpoint))
    assert [f.rule_id for f in findings] == ["MLSEC-FMT-090"]
    assert findings[0].location.resource == "s3://models/does-not-exist.pt"
    assert scan_target("s3://models/bert/config.json", ScanOptions(), options(endpoint)) == []


def test_float_storages_are_not_downloaded(client: Any, endpoint: str) -> None:
    """Random float32 storages often start with a byte that is a pickle opcode: sniff, do not stream them."""
    import numpy as np

    rng = np.random.default_rng(3)
    tensors = {f"t{i}": rng.standard_normal(1 << 18).astype(np.float32).tobytes() for i in range(8)}  # 8 MiB
    for i, first in enumerate((b"]", b"(", b"}", b"N")):  # make sure some start like opcodes
        key = f"t{i}"
        tensors[key] = first + tensors[key][1:]
    client.put_object(Bucket="models", Key="floats/model.pt", Body=torch_zip(tensors))
    findings, [spy] = _dispatch("s3://models/floats/model.pt", endpoint)
    assert [f for f in findings if f.severity >= 3] == []
    assert spy.source.stats.bytes_fetched < 256 << 10, spy.source.stats


class _FailingClient:
    """A real client over the moto server whose GETs of one key fail (an object that cannot be read)."""

    def __init__(self, client: Any, bad_key: str) -> None:
        self._client = client
        self._bad_key = bad_key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_object(self, **kwargs: Any) -> Any:
        if kwargs.get("Key") == self._bad_key:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "GetObject")
        return self._client.get_object(**kwargs)


def test_one_unreadable_object_does_not_hide_the_others(client: Any, endpoint: str) -> None:
    from pytest_mlsec.artifacts.base import ScanOptions
    from pytest_mlsec.artifacts.scanner import scan_target

    client.put_object(Bucket="models", Key="partial/a_locked.pt", Body=torch_zip({"w": bytes(64)}))
    evil = torch_zip({"w": bytes(64)}, payload=b"cposix\nsystem\n(X\x02\x00\x00\x00idtR0")
    client.put_object(Bucket="models", Key="partial/b_evil.pt", Body=evil)
    findings = scan_target(
        "s3://models/partial/", ScanOptions(), {"client": _FailingClient(client, "partial/a_locked.pt")}
    )
    by_resource = {f.location.resource for f in findings if f.severity >= 3}
    assert "s3://models/partial/a_locked.pt" in by_resource  # its failure is a finding
    assert any(
        f.rule_id == "MLSEC-PKL-001" and f.location.resource == "s3://models/partial/b_evil.pt" for f in findings
    )
