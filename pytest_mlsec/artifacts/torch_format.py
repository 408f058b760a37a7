"""PyTorch checkpoints: the zip format, the legacy stacked-pickle format and the legacy tar format.

In the zip format every ``*.pkl`` member (``data.pkl``, TorchScript ``constants.pkl``...) is
emulated; storages referenced by the pickle are only sniffed. The legacy formats keep their
pickles between raw storage bytes, so they are walked record by record exactly as
``torch.load`` reads them (the weights_only bypasses of 2025 lived in these code paths).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from pytest_mlsec.artifacts import rules as R
from pytest_mlsec.artifacts.base import ByteSource
from pytest_mlsec.artifacts.pickle_findings import judge
from pytest_mlsec.artifacts.pickle_vm import Global, PersistentId, VMRun, run_vm
from pytest_mlsec.findings import Finding, Location

if TYPE_CHECKING:
    from pytest_mlsec.artifacts.scanner import Dispatcher

ELEMENT_SIZE = {
    "DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "LongStorage": 8,
    "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1,
    "ComplexFloatStorage": 8, "ComplexDoubleStorage": 16, "QInt8Storage": 1, "QUInt8Storage": 1,
    "QInt32Storage": 4, "QUInt4x2Storage": 1, "QUInt2x4Storage": 1, "UntypedStorage": 1,
}  # fmt: skip


def storage_keys(run: VMRun) -> dict[str, str]:
    """Storage key -> storage type name, from the persistent ids the pickle pushes."""
    keys: dict[str, str] = {}
    for pid in run.persistent_ids:
        value = pid.pid if isinstance(pid, PersistentId) else pid
        if isinstance(value, tuple) and len(value) >= 3 and value[0] == "storage":
            stype = value[1]
            keys[str(value[2])] = stype.name if isinstance(stype, Global) else "?"
    return keys


def scan_pickle_run(source: ByteSource, location: Location, d: Dispatcher, **kw: Any) -> tuple[VMRun, list[Finding]]:
    run = run_vm(source, location, d.options.limits, **kw)
    return run, judge(run, location, d.options)


def scan_legacy(source: ByteSource, location: Location, d: Dispatcher) -> list[Finding]:
    """Legacy non-zip torch.save: magic, protocol, sys_info, data and storage-keys pickles, then storages."""
    run, findings = scan_pickle_run(source, location, d, max_pickles=5)
    findings.append(
        R.PKL_LEGACY_TORCH.finding(
            location, "PyTorch legacy (non-zip) checkpoint: its pickles were scanned", key="legacy"
        )
    )
    if not run.complete or run.pickles < 5:
        return findings
    keys = run.values[4] if len(run.values) >= 5 else None
    types = storage_keys(run)
    if not isinstance(keys, list):
        findings.append(R.FMT_TORCH_LAYOUT.finding(location, "storage key list is not a list", key="keys"))
        return findings
    offset = run.end
    for key in keys:
        stype = types.get(str(key))
        head = source.read(offset, 8)
        if stype is None or stype not in ELEMENT_SIZE or len(head) < 8:
            findings.append(
                R.FMT_TORCH_LAYOUT.finding(
                    location,
                    f"storage {key!r} cannot be located (type {stype!r}); the bytes after offset {offset} were not "
                    "verified",
                    key="storage-walk",
                )
            )
            return findings
        numel = struct.unpack("<q", head)[0]
        offset += 8 + max(numel, 0) * ELEMENT_SIZE[stype]
    if offset != source.size:
        findings.append(
            R.PKL_TRAILING.finding(
                location,
                f"{source.size - offset} unexplained byte(s) after the last storage (offset {offset})"
                if offset < source.size
                else "storages extend beyond the end of the file",
                evidence={"end_of_storages": offset, "size": source.size},
                key="legacy-trailing",
            )
        )
    return findings


def scan_legacy_tar_records(member: ByteSource, location: Location, name: str, d: Dispatcher) -> list[Finding]:
    """The ``storages`` / ``tensors`` members of a legacy tar checkpoint: pickles between raw records."""
    findings: list[Finding] = []
    run, found = scan_pickle_run(member, location, d, max_pickles=1)
    findings.extend(found)
    if not run.complete or not run.values or not isinstance(run.values[0], int):
        return findings
    count = run.values[0]
    offset = run.end
    for _ in range(min(count, d.options.limits.max_members)):
        run, found = scan_pickle_run(member, location, d, start=offset, max_pickles=1)
        findings.extend(found)
        if not run.complete or not run.values:
            return findings
        record = run.values[0]
        offset = run.end
        if name == "storages":
            stype = record[2] if isinstance(record, tuple) and len(record) == 3 else None
            size = ELEMENT_SIZE.get(stype.name if isinstance(stype, Global) else "", 0)
            head = member.read(offset, 8)
            if not size or len(head) < 8:
                findings.append(R.FMT_TORCH_LAYOUT.finding(location, "storage record cannot be walked", key="tar-st"))
                return findings
            offset += 8 + max(struct.unpack("<q", head)[0], 0) * size
        else:
            head = member.read(offset, 8)
            if len(head) < 8:
                findings.append(R.FMT_TORCH_LAYOUT.finding(location, "tensor record is truncated", key="tar-t"))
                return findings
            ndim = struct.unpack("<i", head[:4])[0]
            offset += 8 + 16 * max(ndim, 0) + 8
    if name == "storages" and offset < member.size:
        # torch reads one more pickle here (storage views)
        run, found = scan_pickle_run(member, location, d, start=offset)
        findings.extend(found)
    elif offset < member.size:
        findings.append(
            R.PKL_TRAILING.finding(location, f"{member.size - offset} unexplained byte(s) after the records", key="tar")
        )
    return findings


def torch_prefixes(names: list[str]) -> list[str]:
    """Archive roots of PyTorch checkpoints inside a zip (``archive/`` for ``archive/data.pkl``)."""
    return [n[: -len("data.pkl")] for n in names if n == "data.pkl" or n.endswith("/data.pkl")]
