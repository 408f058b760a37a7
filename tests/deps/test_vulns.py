"""Known vulnerabilities: OSV batch lookups against a local stub, cache, fail-closed, ignores, offline DB."""

from __future__ import annotations

import datetime as dt
import json
import os
import zipfile

import pytest

from pytest_mlsec.deps import vulns
from pytest_mlsec.deps.osv import affects
from pytest_mlsec.findings import Severity
from tests.deps.helpers import by_rule, only, rules, run

pytest.importorskip("pip_audit", reason="the vulnerability lookup needs the 'audit' extra (pip-audit)")


def _reqs(write, count: int = 150) -> str:
    lines = [f"pkg{i}=={i % 7}.{i % 5}.0 ; sys_platform == 'win32'" for i in range(count)]
    return str(write("requirements.txt", "\n".join(lines) + "\n"))


def test_150_pins_cost_one_batch_request(write, osv_server, tmp_path):
    osv_server.add("GHSA-aaaa", "pkg3", ["3.3.0"], fixed="3.3.1", aliases=["CVE-2024-1"], severity="CRITICAL")
    osv_server.add("PYSEC-2024-9", "pkg3", ["3.3.0"], aliases=["CVE-2024-1"])  # same vuln, other database
    osv_server.add("GHSA-bbbb", "pkg10", ["3.0.0"])
    path = _reqs(write)
    found = run(path, vulns=True, osv_url=osv_server.url, cache_dir=str(tmp_path / "cache"), require_hashes=False)
    vul = by_rule(found, "MLSEC-VUL-001")
    assert sorted(f.evidence["package"] for f in vul) == ["pkg10", "pkg3"]
    pkg3 = next(f for f in vul if f.evidence["package"] == "pkg3")
    assert pkg3.severity is Severity.CRITICAL
    assert pkg3.evidence["fix_versions"] == ["3.3.1"]
    assert set(pkg3.evidence["aliases"]) | {pkg3.evidence["id"]} == {"GHSA-aaaa", "PYSEC-2024-9", "CVE-2024-1"}
    assert pkg3.location.line == 4  # the marker for another platform did not hide it
    assert osv_server.requests["/v1/querybatch"] == 1
    assert osv_server.batch_sizes == [150]
    assert osv_server.requests["/v1/query"] == 0
    first_gets = sum(n for p, n in osv_server.requests.items() if p.startswith("/v1/vulns/"))
    assert first_gets == 3
    # Second run: the record cache answers, only the batch request is made.
    run(path, vulns=True, osv_url=osv_server.url, cache_dir=str(tmp_path / "cache"), require_hashes=False)
    assert osv_server.requests["/v1/querybatch"] == 2
    assert sum(n for p, n in osv_server.requests.items() if p.startswith("/v1/vulns/")) == first_gets


def test_modified_record_is_fetched_again(write, osv_server, tmp_path):
    osv_server.add("GHSA-x", "numpy", ["1.0.0"], summary="old text")
    path = write("requirements.txt", "numpy==1.0.0\n")
    opts = {"vulns": True, "osv_url": osv_server.url, "cache_dir": str(tmp_path / "c"), "require_hashes": False}
    assert "old text" in only(run(path, **opts), "MLSEC-VUL-001").message
    osv_server.add("GHSA-x", "numpy", ["1.0.0"], summary="new text", modified="2025-01-01T00:00:00Z")
    assert "new text" in only(run(path, **opts), "MLSEC-VUL-001").message


def test_pagination_is_followed(write, osv_server, tmp_path):
    for i in range(5):
        osv_server.add(f"GHSA-{i}", "numpy", ["1.0.0"])
    osv_server.page_size = 2
    path = write("requirements.txt", "numpy==1.0.0\n")
    found = run(path, vulns=True, osv_url=osv_server.url, cache_dir=str(tmp_path), require_hashes=False)
    assert len(by_rule(found, "MLSEC-VUL-001")) == 5
    assert osv_server.requests["/v1/querybatch"] == 3


@pytest.mark.parametrize("mode", ["status", "garbage", "unreachable"])
def test_lookup_failure_fails_closed(write, osv_server, tmp_path, mode):
    path = write("requirements.txt", "numpy==1.0.0\n")
    url = osv_server.url
    if mode == "status":
        osv_server.fail_status = 503
    elif mode == "garbage":
        osv_server.garbage = True
    else:
        import socket

        with socket.socket() as sock:  # a port nothing listens on
            sock.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    found = run(path, vulns=True, osv_url=url, cache_dir=str(tmp_path), require_hashes=False, timeout=5)
    failure = only(found, "MLSEC-VUL-002")
    assert failure.severity is Severity.HIGH
    assert "lookup failed" in failure.message


def test_vulns_are_off_unless_asked(write, osv_server):
    osv_server.add("GHSA-x", "numpy", ["1.0.0"])
    path = write("requirements.txt", "numpy==1.0.0\n")
    assert run(path, require_hashes=False) == []
    assert run(path, require_hashes=False, vulns=False, osv_url=osv_server.url) == []
    assert sum(osv_server.requests.values()) == 0


def test_ignores_with_reason_and_expiry(write, osv_server, tmp_path):
    osv_server.add("GHSA-one", "numpy", ["1.0.0"], aliases=["CVE-1"])
    osv_server.add("GHSA-two", "numpy", ["1.0.0"])
    path = write("requirements.txt", "numpy==1.0.0\n")
    from pytest_mlsec.deps import scan

    today = dt.date.today()
    outcome = scan.run(
        [str(path)],
        {
            "vulns": True,
            "osv_url": osv_server.url,
            "cache_dir": str(tmp_path),
            "require_hashes": False,
            "ignore_vulns": [
                {
                    "id": "CVE-1",
                    "reason": "not reachable from our code",
                    "expires": (today + dt.timedelta(days=30)).isoformat(),
                },
                "GHSA-two=accepted risk@2000-01-01",
                {"id": "GHSA-unused", "reason": "old"},
            ],
        },
    )
    assert [f.evidence["id"] for f in outcome.suppressed] == ["CVE-1"]  # pip-audit prefers PYSEC, then CVE ids
    assert "not reachable" in (outcome.suppressed[0].suppressed_by or "")
    assert rules(outcome.findings) == ["MLSEC-VUL-001", "MLSEC-VUL-003", "MLSEC-VUL-004"]
    assert only(outcome.findings, "MLSEC-VUL-001").evidence["id"] == "GHSA-two"


def test_parse_ignore_arg():
    assert vulns.parse_ignore_arg("GHSA-1=because@2030-01-02") == vulns.Ignore("GHSA-1", "because", dt.date(2030, 1, 2))
    assert vulns.parse_ignore_arg("X=a reason with = signs").reason == "a reason with = signs"
    with pytest.raises(ValueError):
        vulns.parse_ignore_arg("GHSA-1")
    with pytest.raises(ValueError):
        vulns.parse_ignore_arg("GHSA-1=")


def test_every_format_feeds_the_lookup_but_not_unpinned_or_urls(write, osv_server, tmp_path):
    osv_server.add("GHSA-np", "numpy", ["1.26.4"])
    osv_server.add("GHSA-tr", "torch", ["2.3.1"])
    write("proj/requirements.txt", "torch==2.3.1\nscipy>=1\nlib @ https://x.example.com/lib-1.0.tar.gz\n")
    write("proj/pyproject.toml", '[build-system]\nrequires = ["numpy==1.26.4"]\n')
    found = run(tmp_path / "proj", vulns=True, osv_url=osv_server.url, cache_dir=str(tmp_path / "c"))
    assert sorted(f.evidence["id"] for f in by_rule(found, "MLSEC-VUL-001")) == ["GHSA-np", "GHSA-tr"]
    assert osv_server.batch_sizes == [2]


# --- offline database -----------------------------------------------------------------------------


def _record(vuln_id, name, *, versions=(), events=(), withdrawn=None, modified="2024-05-01T00:00:00Z"):
    record = {
        "id": vuln_id,
        "modified": modified,
        "summary": f"{vuln_id} summary",
        "affected": [
            {
                "package": {"name": name, "ecosystem": "PyPI"},
                "versions": list(versions),
                "ranges": [{"type": "ECOSYSTEM", "events": list(events)}] if events else [],
            }
        ],
    }
    if withdrawn:
        record["withdrawn"] = withdrawn
    return record


OFFLINE = [
    _record("PYSEC-1", "PyYAML", events=[{"introduced": "0"}, {"fixed": "5.4"}]),
    _record("PYSEC-2", "torch", events=[{"introduced": "2.0"}, {"last_affected": "2.3.1"}]),
    _record("PYSEC-3", "Pillow", versions=["10.0.0"]),
    _record("PYSEC-4", "numpy", events=[{"introduced": "1.0"}], withdrawn="2024-01-01T00:00:00Z"),
    _record(
        "PYSEC-5",
        "requests",
        events=[{"introduced": "2.0"}, {"fixed": "2.10"}, {"introduced": "2.20"}, {"fixed": "2.32.0"}],
    ),
]


def _zip(tmp_path, records, extra=None):
    path = tmp_path / "all.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for record in records:
            zf.writestr(zipfile.ZipInfo(f"{record['id']}.json", date_time=(2024, 5, 1, 0, 0, 0)), json.dumps(record))
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


REQS = "pyyaml==5.3.1\ntorch==2.3.1\npillow==10.0.0\nnumpy==1.26.4\nrequests==2.31.0\nrequests-oauthlib==1.0\n"


@pytest.mark.parametrize("layout", ["zip", "folder"])
def test_offline_database(write, tmp_path, layout):
    if layout == "zip":
        db = _zip(tmp_path, OFFLINE)
    else:
        db = tmp_path / "osv"
        (db / "nested").mkdir(parents=True)
        for record in OFFLINE:
            member = db / "nested" / f"{record['id']}.json"
            member.write_text(json.dumps(record))
            stamp = dt.datetime(2024, 5, 1, tzinfo=dt.UTC).timestamp()
            os.utime(member, (stamp, stamp))
    path = write("requirements.txt", REQS)
    from pytest_mlsec.deps import scan

    outcome = scan.run([str(path)], {"osv_offline": str(db), "require_hashes": False})
    found = by_rule(outcome.findings, "MLSEC-VUL-001")
    assert sorted((f.evidence["package"], f.evidence["id"]) for f in found) == [
        ("pillow", "PYSEC-3"),
        ("pyyaml", "PYSEC-1"),
        ("requests", "PYSEC-5"),
        ("torch", "PYSEC-2"),
    ]
    assert outcome.metadata["database_version"] == "2024-05-01T00:00:00Z"


def test_offline_database_fails_closed(write, tmp_path):
    path = write("requirements.txt", "pyyaml==5.3.1\n")
    missing = run(path, osv_offline=str(tmp_path / "nope.zip"), require_hashes=False)
    assert "does not exist" in only(missing, "MLSEC-VUL-002").message
    notzip = tmp_path / "bad.zip"
    notzip.write_bytes(b"not a zip at all")
    assert (
        "not a readable zip" in only(run(path, osv_offline=str(notzip), require_hashes=False), "MLSEC-VUL-002").message
    )
    broken = _zip(tmp_path, OFFLINE, extra={"BROKEN.json": '{"id": "x", "affected": [{"package": {"name": "pyyaml"'})
    found = run(path, osv_offline=str(broken), require_hashes=False)
    assert only(found, "MLSEC-VUL-001").evidence["id"] == "PYSEC-1"
    assert "BROKEN.json" in only(found, "MLSEC-VUL-002").message


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.9", False),
        ("2.0", True),
        ("2.9.9", True),
        ("2.10", False),
        ("2.19", False),
        ("2.20", True),
        ("2.31.0", True),
        ("2.32.0", False),
        ("3.0", False),
    ],
)
def test_range_semantics(version, expected):
    assert affects(OFFLINE[4], "requests", version) is expected


def test_last_affected_and_versions_list():
    assert affects(OFFLINE[1], "torch", "2.3.1")
    assert not affects(OFFLINE[1], "torch", "2.3.2")
    assert not affects(OFFLINE[1], "torch", "1.13")
    assert affects(OFFLINE[2], "pillow", "10.0")
    assert not affects(OFFLINE[2], "pillow", "10.0.1")
    assert not affects(OFFLINE[2], "other", "10.0.0")


def test_local_version_builds_share_the_public_release_vulnerabilities(write, tmp_path):
    db = _zip(tmp_path, OFFLINE)
    path = write("requirements.txt", "torch==2.3.1+cu121\n")
    found = run(path, osv_offline=str(db), require_hashes=False)
    assert only(found, "MLSEC-VUL-001").evidence["version"] == "2.3.1+cu121"


def test_unparseable_version_is_reported_not_skipped(write, osv_server, tmp_path):
    path = write("requirements.txt", "legacy===1.0-custom-build\n")
    found = run(path, vulns=True, osv_url=osv_server.url, cache_dir=str(tmp_path), require_hashes=False)
    assert "not a PEP 440 version" in only(found, "MLSEC-VUL-002").message
