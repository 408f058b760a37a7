"""OSV vulnerability services built on pip-audit's service interface.

* :class:`OsvBatchService` subclasses pip-audit's ``OsvService`` (same session with its HTTP
  cache, same result type) but asks ``/v1/querybatch`` once for up to 1000 pins, then fetches
  each vulnerability record (``/v1/vulns/ID``) only when the on-disk cache does not already
  hold that record at the ``modified`` time the batch reported.
* :class:`OfflineOsvService` answers from a downloaded OSV PyPI export (``all.zip`` or a
  folder of records) for air-gapped machines, matching ``affected[].ranges`` / ``versions``.

Both raise pip-audit's ``ServiceError`` / ``ConnectionError``; the caller turns those into a
fail-closed finding. Importing this module imports pip-audit and requests: do it lazily.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import requests
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from pip_audit._service.interface import (
    ConnectionError as AuditConnectionError,
)
from pip_audit._service.interface import (
    Dependency,
    ResolvedDependency,
    ServiceError,
    VulnerabilityResult,
    VulnerabilityService,
)
from pip_audit._service.osv import OsvService

from pytest_mlsec.deps.model import as_dict, as_list

DEFAULT_BASE_URL = "https://api.osv.dev"
BATCH_LIMIT = 1000
MAX_PAGES = 50
MAX_RECORD_BYTES = 8 * 1024 * 1024
MAX_EXPORT_BYTES = 4 * 1024 * 1024 * 1024


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pytest-mlsec" / "osv"


def base_url_of(url: str) -> str:
    """Accept ``https://api.osv.dev``, ``.../v1`` or ``.../v1/query`` and return the API root."""
    text = url.rstrip("/")
    for suffix in ("/v1/querybatch", "/v1/query", "/v1"):
        if text.endswith(suffix):
            return text[: -len(suffix)]
    return text


def _fix_versions(record: Mapping[str, Any], name: str) -> list[Version]:
    fixes: set[Version] = set()
    for affected in as_list(record.get("affected")):
        package = as_dict(affected.get("package")) if isinstance(affected, dict) else {}
        if str(package.get("ecosystem", "")).split(":")[0] != "PyPI":
            continue
        if canonicalize_name(str(package.get("name", ""))) != name:
            continue
        for rng in as_list(affected.get("ranges")):
            if not isinstance(rng, dict) or rng.get("type") != "ECOSYSTEM":
                continue
            for event in as_list(rng.get("events")):
                if isinstance(event, dict) and "fixed" in event:
                    try:
                        fixes.add(Version(str(event["fixed"])))
                    except InvalidVersion:
                        continue
    return sorted(fixes)


def to_result(record: Mapping[str, Any], name: str) -> VulnerabilityResult | None:
    """An OSV record as pip-audit's result type (``None`` for a withdrawn record)."""
    if record.get("withdrawn"):
        return None
    description = record.get("summary") or record.get("details") or "N/A"
    aliases = [str(a) for a in as_list(record.get("aliases")) if isinstance(a, str)]
    published = None
    try:
        published = VulnerabilityService._parse_rfc3339(record.get("published"))
    except (ValueError, TypeError):
        published = None
    return VulnerabilityResult.create(
        ids=[str(record["id"]), *aliases],
        description=" ".join(str(description).split()),
        fix_versions=_fix_versions(record, name),
        published=published,
    )


class RecordCache:
    """Vulnerability records on disk, valid while their ``modified`` time is unchanged."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "records"

    def _path(self, vuln_id: str) -> Path:
        digest = hashlib.sha256(vuln_id.encode("utf-8")).hexdigest()[:16]
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", vuln_id)[:80]
        return self.directory / f"{safe}-{digest}.json"

    def get(self, vuln_id: str, modified: str | None) -> dict[str, Any] | None:
        try:
            record = json.loads(self._path(vuln_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("id") != vuln_id:
            return None
        if modified and record.get("modified") != modified:
            return None
        return record

    def put(self, record: dict[str, Any]) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self._path(str(record["id"]))
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(record), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            return  # a cache that cannot be written only costs speed


class OsvBatchService(OsvService):  # type: ignore[misc]
    """pip-audit's OSV service, batched: one ``querybatch`` request for up to 1000 pins."""

    def __init__(
        self, cache_dir: Path | None = None, timeout: int | None = None, base_url: str = DEFAULT_BASE_URL
    ) -> None:
        directory = cache_dir or default_cache_dir()
        self.base_url = base_url_of(base_url)
        super().__init__(cache_dir=directory / "http", timeout=timeout, osv_url=f"{self.base_url}/v1/query")
        self.records_cache = RecordCache(directory)
        self.records: dict[str, dict[str, Any]] = {}
        self.requests_made = 0

    def query(self, spec: Dependency) -> tuple[Dependency, list[VulnerabilityResult]]:
        return next(iter(self.query_all(iter([spec]))))

    def query_all(self, specs: Iterator[Dependency]) -> Iterator[tuple[Dependency, list[VulnerabilityResult]]]:
        items = list(specs)
        resolved = [cast(ResolvedDependency, s) for s in items if not s.is_skipped()]
        hits = self._batch(resolved)
        for spec in items:
            if spec.is_skipped():
                yield spec, []
                continue
            results = []
            for vuln_id, modified in hits.get(id(spec), []):
                record = self._record(vuln_id, modified)
                result = to_result(record, spec.canonical_name)
                if result is not None:
                    results.append(result)
            yield spec, results

    def _post(self, url: str, body: dict[str, Any]) -> Any:
        self.requests_made += 1
        try:
            response = self.session.post(
                url=url, data=json.dumps(body), timeout=self.timeout, headers={"Content-Type": "application/json"}
            )
            response.raise_for_status()
            return response.json()
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise AuditConnectionError(f"cannot reach {url}: {type(exc).__name__}") from exc
        except requests.HTTPError as exc:
            raise ServiceError(f"{url} answered HTTP {exc.response.status_code if exc.response else '?'}") from exc
        except (requests.RequestException, ValueError) as exc:
            raise ServiceError(f"{url}: {type(exc).__name__}: {exc}") from exc

    def _batch(self, specs: Sequence[ResolvedDependency]) -> dict[int, list[tuple[str, str | None]]]:
        hits: dict[int, list[tuple[str, str | None]]] = {}
        url = f"{self.base_url}/v1/querybatch"
        pending: list[tuple[ResolvedDependency, str | None]] = [(s, None) for s in specs]
        pages = 0
        while pending:
            pages += 1
            if pages > MAX_PAGES * max(1, len(specs) // BATCH_LIMIT + 1):
                raise ServiceError("OSV kept paginating; giving up")
            chunk, pending = pending[:BATCH_LIMIT], pending[BATCH_LIMIT:]
            queries = []
            for spec, token in chunk:
                query: dict[str, Any] = {
                    "package": {"name": spec.canonical_name, "ecosystem": "PyPI"},
                    "version": str(spec.version),
                }
                if token:
                    query["page_token"] = token
                queries.append(query)
            answer = self._post(url, {"queries": queries})
            results = answer.get("results") if isinstance(answer, dict) else None
            if not isinstance(results, list) or len(results) != len(chunk):
                raise ServiceError(f"{url} returned a malformed batch answer")
            for (spec, _), result in zip(chunk, results, strict=True):
                if not isinstance(result, dict):
                    raise ServiceError(f"{url} returned a malformed batch entry")
                for vuln in as_list(result.get("vulns")):
                    if isinstance(vuln, dict) and isinstance(vuln.get("id"), str):
                        hits.setdefault(id(spec), []).append((vuln["id"], vuln.get("modified")))
                token = result.get("next_page_token")
                if isinstance(token, str) and token:
                    pending.append((spec, token))
        return hits

    def _record(self, vuln_id: str, modified: str | None) -> dict[str, Any]:
        if vuln_id in self.records:
            return self.records[vuln_id]
        record = self.records_cache.get(vuln_id, modified)
        if record is None:
            url = f"{self.base_url}/v1/vulns/{quote(vuln_id, safe='')}"
            self.requests_made += 1
            try:
                response = self.session.get(url=url, timeout=self.timeout)
                response.raise_for_status()
                record = response.json()
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise AuditConnectionError(f"cannot reach {url}: {type(exc).__name__}") from exc
            except (requests.RequestException, ValueError) as exc:
                raise ServiceError(f"{url}: {type(exc).__name__}: {exc}") from exc
            if not isinstance(record, dict) or record.get("id") != vuln_id:
                raise ServiceError(f"{url} returned a record that is not {vuln_id}")
            self.records_cache.put(record)
        self.records[vuln_id] = record
        return record


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def affects(record: Mapping[str, Any], name: str, version: str) -> bool:
    """Does this OSV record affect PyPI package ``name`` at ``version``? (OSV range semantics)."""
    parsed = _version(version)
    for affected in as_list(record.get("affected")):
        if not isinstance(affected, dict):
            continue
        package = as_dict(affected.get("package"))
        if str(package.get("ecosystem", "")).split(":")[0] != "PyPI":
            continue
        if canonicalize_name(str(package.get("name", ""))) != name:
            continue
        for listed in as_list(affected.get("versions")):
            other = _version(str(listed))
            if str(listed) == version or (parsed is not None and other is not None and other == parsed):
                return True
        if parsed is None:
            continue
        for rng in as_list(affected.get("ranges")):
            if isinstance(rng, dict) and rng.get("type") == "ECOSYSTEM" and _in_range(rng, parsed):
                return True
    return False


def _in_range(rng: Mapping[str, Any], version: Version) -> bool:
    events: list[tuple[Version, int, str]] = []
    order = {"introduced": 0, "fixed": 1, "last_affected": 2, "limit": 3}
    for event in as_list(rng.get("events")):
        if not isinstance(event, dict):
            continue
        for kind, value in event.items():
            if kind not in order:
                continue
            at = Version("0") if kind == "introduced" and str(value) == "0" else _version(str(value))
            if at is None:
                continue
            events.append((at, order[kind], kind))
    events.sort()
    affected = False
    for at, _, kind in events:
        if kind == "introduced" and version >= at:
            affected = True
        elif (
            (kind == "fixed" and version >= at)
            or (kind == "last_affected" and version > at)
            or (kind == "limit" and version >= at)
        ):
            affected = False
    return affected


class OfflineOsvService(VulnerabilityService):  # type: ignore[misc]
    """Answers from an OSV export (``all.zip`` of the PyPI ecosystem, or a folder of JSON records)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.records: dict[str, dict[str, Any]] = {}
        self.problems: list[str] = []
        self.newest: str | None = None
        self._by_name: dict[str, list[dict[str, Any]]] | None = None
        self.requests_made = 0

    def load(self, names: Sequence[str]) -> None:
        """Index the records that mention any of ``names`` (others are not even parsed)."""
        wanted = sorted({canonicalize_name(n) for n in names})
        self._by_name = {n: [] for n in wanted}
        if not wanted:
            return
        alternatives = b"|".join(re.escape(n.encode()).replace(rb"\-", rb"[-_.]+") for n in wanted)
        pattern = re.compile(rb'"name"\s*:\s*"(?:' + alternatives + rb')"', re.IGNORECASE)
        for label, data in self._blobs():
            if not pattern.search(data):
                continue
            try:
                record = json.loads(data)
            except (ValueError, RecursionError):
                self.problems.append(f"{label}: not valid JSON")
                continue
            if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                self.problems.append(f"{label}: not an OSV record")
                continue
            for affected in as_list(record.get("affected")):
                package = affected.get("package") if isinstance(affected, dict) else None
                if isinstance(package, dict):
                    key = canonicalize_name(str(package.get("name", "")))
                    if key in self._by_name and record not in self._by_name[key]:
                        self._by_name[key].append(record)
            self.records[record["id"]] = record

    def _saw(self, timestamp: float) -> None:
        """Track the newest record file: the export's age, reported as its database version."""
        import datetime as dt

        stamp = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.newest is None or stamp > self.newest:
            self.newest = stamp

    def _saw_zip(self, date_time: tuple[int, int, int, int, int, int]) -> None:
        stamp = "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format(*date_time)
        if self.newest is None or stamp > self.newest:
            self.newest = stamp

    def _blobs(self) -> Iterator[tuple[str, bytes]]:
        if self.path.is_dir():
            for folder, dirs, files in os.walk(self.path):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith(".json"):
                        full = os.path.join(folder, name)
                        try:
                            self._saw(os.path.getmtime(full))
                            if os.path.getsize(full) > MAX_RECORD_BYTES:
                                self.problems.append(f"{full}: record larger than {MAX_RECORD_BYTES} bytes")
                                continue
                            with open(full, "rb") as handle:
                                yield full, handle.read()
                        except OSError as exc:
                            self.problems.append(f"{full}: {exc.strerror or exc}")
            return
        if not self.path.is_file():
            raise ServiceError(f"offline OSV database {self.path} does not exist")
        try:
            archive = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ServiceError(f"offline OSV database {self.path} is not a readable zip: {exc}") from exc
        with archive:
            total = 0
            for info in archive.infolist():
                if info.is_dir() or not info.filename.endswith(".json"):
                    continue
                if info.file_size > MAX_RECORD_BYTES:
                    self.problems.append(f"{info.filename}: record larger than {MAX_RECORD_BYTES} bytes")
                    continue
                total += info.file_size
                self._saw_zip(info.date_time)
                if total > MAX_EXPORT_BYTES:
                    raise ServiceError(f"offline OSV database {self.path} expands beyond {MAX_EXPORT_BYTES} bytes")
                try:
                    with archive.open(info) as member:
                        data = member.read(MAX_RECORD_BYTES + 1)
                except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                    self.problems.append(f"{info.filename}: {exc}")
                    continue
                if len(data) > MAX_RECORD_BYTES:
                    self.problems.append(f"{info.filename}: record larger than declared")
                    continue
                yield f"{self.path.name}!{info.filename}", data

    def query(self, spec: Dependency) -> tuple[Dependency, list[VulnerabilityResult]]:
        if spec.is_skipped():
            return spec, []
        resolved = cast(ResolvedDependency, spec)
        if self._by_name is None or spec.canonical_name not in self._by_name:
            self.load([*(self._by_name or {}), spec.canonical_name])
        assert self._by_name is not None
        results = []
        for record in self._by_name.get(spec.canonical_name, []):
            if affects(record, spec.canonical_name, str(resolved.version)):
                result = to_result(record, spec.canonical_name)
                if result is not None:
                    results.append(result)
        return spec, results
