"""S3 targets: ``s3://bucket/key`` and ``s3://bucket/prefix/`` read with ranged GETs.

A model scan needs a zip's tail, its central directory and its pickle members, never the
tensor bytes. :class:`S3Source` is a :class:`~pytest_mlsec.artifacts.base.ByteSource` that
turns each ``read(offset, length)`` into an HTTP ``Range`` request, widened to a small
minimum (so reading 30-byte local headers one by one stays cheap) and grown for sequential
reads (so a large pickle streams in few requests), with a bounded cache of fetched ranges.
Every GET carries ``If-Match`` with the ETag seen when the object was listed, so an object
replaced mid-scan is an error rather than a scan of two different files.

Errors: every failure (no such bucket / key / prefix, access denied, no credentials, network,
object changed) raises :class:`S3Error`, an ``OSError`` subclass with a one-line message, from
:func:`walk_s3` or from ``S3Source.read``. Callers turn it into a finding
(``MLSEC-FMT-090`` ``remote-artifact-unreadable``) naming ``S3Error.uri``.

``boto3`` is imported only when an ``s3://`` target is scanned.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_mlsec.findings import Location

MIN_FETCH = 4 << 10
MAX_READAHEAD = 8 << 20
CACHE_BYTES = 32 << 20


class S3Error(OSError):
    """An S3 target could not be listed or read. ``uri`` names it; ``code`` is the S3 error code."""

    def __init__(self, uri: str, message: str, code: str = "") -> None:
        super().__init__(f"{uri}: {message}")
        self.uri = uri
        self.code = code


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key); raise :class:`S3Error` for anything else."""
    if not uri.startswith("s3://"):
        raise S3Error(uri, "not an s3:// URI")
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise S3Error(uri, "no bucket in the URI")
    return bucket, key


def _describe(exc: Exception) -> tuple[str, str]:
    """(code, message) for a botocore error without importing botocore at module level."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        err = response.get("Error", {})
        code = str(err.get("Code", ""))
        message = str(err.get("Message", "")) or code
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("404", "NoSuchKey", "NotFound"):
            return code, "no such object"
        if code == "NoSuchBucket":
            return code, "no such bucket"
        if code in ("403", "AccessDenied", "Forbidden"):
            return code, "access denied (needs s3:GetObject / s3:ListBucket)"
        if code in ("412", "PreconditionFailed"):
            return code, "the object changed during the scan (ETag mismatch)"
        return code, f"{message} (HTTP {status})"
    return type(exc).__name__, str(exc) or type(exc).__name__


def make_client(options: Mapping[str, Any]) -> Any:
    """An S3 client from ``options``: ``client``, or ``session`` / ``profile``, ``region``, ``endpoint_url``,
    ``anonymous`` (unsigned requests for public buckets)."""
    client = options.get("client")
    if client is not None:
        return client
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise S3Error("s3://", "scanning s3:// targets needs boto3: pip install 'pytest-mlsec[aws]'") from exc
    session = options.get("session")
    if session is None:
        session = boto3.session.Session(profile_name=options.get("profile"), region_name=options.get("region"))
    extra: dict[str, Any] = {}
    if options.get("anonymous"):  # public buckets: unsigned requests, no credentials needed
        from botocore import UNSIGNED

        extra["signature_version"] = UNSIGNED
    config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10, read_timeout=60, **extra)
    return session.client(
        "s3", endpoint_url=options.get("endpoint_url"), region_name=options.get("region"), config=config
    )


@dataclass
class FetchStats:
    """What an S3Source downloaded (for benchmarks and tests)."""

    requests: int = 0
    bytes_fetched: int = 0


class S3Source:
    """Random access to one S3 object through ranged GETs (see the module docstring)."""

    def __init__(self, client: Any, bucket: str, key: str, size: int, etag: str | None = None) -> None:
        self._client = client
        self.bucket = bucket
        self.key = key
        self._size = size
        self._etag = etag
        self.stats = FetchStats()
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._cached_bytes = 0
        self._last_end = -1
        self._readahead = MIN_FETCH

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def size(self) -> int:
        return self._size

    def _lookup(self, pos: int) -> bytes:
        """Cached bytes starting at ``pos`` (possibly empty)."""
        for start, data in reversed(self._cache.items()):
            if start <= pos < start + len(data):
                self._cache.move_to_end(start)
                return data[pos - start :]
        return b""

    def _fetch(self, start: int, length: int) -> bytes:
        end = min(self._size, start + length) - 1
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key, "Range": f"bytes={start}-{end}"}
        if self._etag:
            kwargs["IfMatch"] = self._etag
        try:
            response = self._client.get_object(**kwargs)
            data: bytes = response["Body"].read()
        except Exception as exc:  # botocore's error classes are not importable without boto3
            code, message = _describe(exc)
            raise S3Error(self.uri, message, code) from exc
        self.stats.requests += 1
        self.stats.bytes_fetched += len(data)
        if len(data) != end - start + 1:
            raise S3Error(self.uri, f"short ranged read at {start} ({len(data)} of {end - start + 1} bytes)")
        self._cache[start] = data
        self._cached_bytes += len(data)
        while self._cached_bytes > CACHE_BYTES and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached_bytes -= len(old)
        return data

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError("negative offset or length")
        length = max(0, min(length, self._size - offset))
        pieces: list[bytes] = []
        pos, remaining = offset, length
        while remaining > 0:
            data = self._lookup(pos)
            if not data:
                # Sequential reads double the window (streaming a pickle); random reads stay small.
                self._readahead = min(MAX_READAHEAD, self._readahead * 2) if pos == self._last_end else MIN_FETCH
                data = self._fetch(pos, max(remaining, self._readahead))
            piece = data[:remaining]
            pieces.append(piece)
            pos += len(piece)
            remaining -= len(piece)
        self._last_end = offset + length
        return b"".join(pieces)


def walk_s3(uri: str, options: Mapping[str, Any]) -> Iterator[tuple[Location, S3Source]]:
    """Every object at ``uri`` (one key, or all keys under a prefix), sorted by key.

    Raises :class:`S3Error` when the bucket, object or prefix cannot be found or read.
    """
    bucket, key = parse_s3_uri(uri)
    client = make_client(options)
    if key and not key.endswith("/"):
        head: Any = None
        try:
            head = client.head_object(Bucket=bucket, Key=key)
        except Exception as exc:
            code, message = _describe(exc)
            if code not in ("404", "NoSuchKey", "NotFound"):
                raise S3Error(uri, message, code) from exc
        if head is not None:
            source = S3Source(client, bucket, key, int(head["ContentLength"]), head.get("ETag"))
            yield Location(resource=f"s3://{bucket}/{key}"), source
            return
        prefix = key + "/"  # s3://bucket/models/bert names a folder when no such object exists
    else:
        prefix = key
    found = 0
    pages = iter(client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix))
    while True:
        try:
            page = next(pages, None)
        except Exception as exc:
            code, message = _describe(exc)
            raise S3Error(uri, message, code) from exc
        if page is None:
            break
        for obj in sorted(page.get("Contents", []), key=lambda o: o["Key"]):
            name = obj["Key"]
            if name.endswith("/") and int(obj.get("Size", 0)) == 0:
                continue  # a console "folder" marker
            found += 1
            source = S3Source(client, bucket, name, int(obj["Size"]), obj.get("ETag"))
            yield Location(resource=f"s3://{bucket}/{name}"), source
    if not found:
        raise S3Error(uri, "no such object or prefix", "NoSuchKey")
