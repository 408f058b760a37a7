"""TensorFlow SavedModel / GraphDef: ops that touch the file system or call back into Python.

A SavedModel graph runs inside the serving process. Ops such as ``ReadFile``, ``WriteFile``,
``MatchingFiles`` or ``ImmutableConst`` (memory-maps a named file) let a graph read secrets
or overwrite files when a request arrives; ``PyFunc`` / ``EagerPyFunc`` call into Python
functions of the loading process. Every SavedModel also carries ``SaveV2`` / ``RestoreV2``
for its own checkpoint, so those are reported only when their file name is a graph constant
that is absolute or climbs out with ``..`` (the ordinary saver is fed a placeholder).

The walk reuses :class:`~pytest_mlsec.artifacts.onnx_format.ProtoCursor` and reads only
NodeDefs (op, name, inputs, string constants): tensor contents are skipped unread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pytest_mlsec.artifacts import extra_rules as R
from pytest_mlsec.artifacts.base import ByteSource, Recurse, ScanOptions
from pytest_mlsec.artifacts.onnx_format import ProtoCursor, ProtoError, location_problem
from pytest_mlsec.findings import Finding, Location, Severity

RISKY_OPS: dict[str, tuple[str, Severity]] = {
    "ReadFile": ("reads an arbitrary file", Severity.HIGH),
    "WriteFile": ("writes an arbitrary file", Severity.CRITICAL),
    "MatchingFiles": ("lists files matching a glob", Severity.HIGH),
    "ImmutableConst": ("memory-maps a file named in the graph", Severity.HIGH),
    "PyFunc": ("calls a Python function of the loading process", Severity.HIGH),
    "PyFuncStateless": ("calls a Python function of the loading process", Severity.HIGH),
    "EagerPyFunc": ("calls a Python function of the loading process", Severity.HIGH),
    "WholeFileReader": ("reads whole files", Severity.HIGH),
    "WholeFileReaderV2": ("reads whole files", Severity.HIGH),
    "DebugIdentity": ("sends tensors to debug URLs (file:// or grpc://)", Severity.HIGH),
    "DebugIdentityV2": ("writes tensors to a debug dump folder", Severity.HIGH),
    "DebugIdentityV3": ("sends tensors to debug URLs (file:// or grpc://)", Severity.HIGH),
    "CreateSummaryFileWriter": ("writes event files to a graph-chosen folder", Severity.MEDIUM),
    "CreateSummaryDbWriter": ("writes a database at a graph-chosen path", Severity.MEDIUM),
    "LoadAndRemapMatrix": ("reads a checkpoint named in the graph", Severity.MEDIUM),
}
PATH_OPS = frozenset({"Save", "SaveV2", "SaveSlices", "Restore", "RestoreV2", "RestoreSlice", "MergeV2Checkpoints"})
"""Checkpoint ops every SavedModel has: flagged only with a constant escaping file name."""
_PASS_THROUGH = frozenset({"Identity", "PlaceholderWithDefault", "StringJoin"})
MAX_DEPTH = 32


@dataclass
class _Node:
    name: str = ""
    op: str = ""
    inputs: list[str] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)
    offset: int = 0


@dataclass
class _Graph:
    """One node scope: a GraphDef or a FunctionDef body."""

    nodes: dict[str, _Node] = field(default_factory=dict)
    order: list[_Node] = field(default_factory=list)


def _attr_strings(cur: ProtoCursor, start: int, end: int, out: list[str]) -> None:
    """String constants in an AttrValue (``s``, ``list.s`` or a string tensor's ``string_val``)."""
    for number, wire, value, length in cur.fields(start, end):
        if wire != 2:
            continue
        if number == 2:  # s
            out.append(cur.string(value, length))
        elif number == 1:  # list { s = 2 }
            for n2, w2, v2, l2 in cur.fields(value, value + length):
                if n2 == 2 and w2 == 2:
                    out.append(cur.string(v2, l2))
        elif number == 8:  # tensor { string_val = 8 }
            for n2, w2, v2, l2 in cur.fields(value, value + length):
                if n2 == 8 and w2 == 2 and len(out) < 64:
                    out.append(cur.string(v2, l2))


def _node(cur: ProtoCursor, start: int, end: int) -> _Node:
    node = _Node(offset=start)
    for number, wire, value, length in cur.fields(start, end):
        if wire != 2:
            continue
        if number == 1:
            node.name = cur.string(value, length)
        elif number == 2:
            node.op = cur.string(value, length)
        elif number == 3:
            node.inputs.append(cur.string(value, length))
        elif number == 5:  # map<string, AttrValue> entry
            for n2, w2, v2, l2 in cur.fields(value, value + length):
                if n2 == 2 and w2 == 2:
                    _attr_strings(cur, v2, v2 + l2, node.strings)
    return node


def _add(graph: _Graph, node: _Node) -> None:
    graph.nodes[node.name] = node
    graph.order.append(node)


def _graph_def(cur: ProtoCursor, start: int, end: int, graphs: list[_Graph]) -> None:
    graph = _Graph()
    graphs.append(graph)
    for number, wire, value, length in cur.fields(start, end):
        if number == 1 and wire == 2:
            _add(graph, _node(cur, value, value + length))
        elif number == 2 and wire == 2:  # FunctionDefLibrary { function = 1 }
            for n2, w2, v2, l2 in cur.fields(value, value + length):
                if n2 == 1 and w2 == 2:
                    body = _Graph()
                    graphs.append(body)
                    for n3, w3, v3, l3 in cur.fields(v2, v2 + l2):
                        if n3 == 3 and w3 == 2:  # FunctionDef.node_def
                            _add(body, _node(cur, v3, v3 + l3))


def parse_graphs(source: ByteSource) -> list[_Graph]:
    """Node scopes of a SavedModel (saved_model.pb) or a bare GraphDef (frozen .pb)."""
    cur = ProtoCursor(source)
    first = next(iter(cur.fields(0, source.size)), None)
    if first is None:
        raise ProtoError("empty protobuf")
    graphs: list[_Graph] = []
    saved_model = not (first[0] == 1 and first[1] == 2)  # GraphDef starts with node (1, message)
    if saved_model:
        for number, wire, value, length in cur.fields(0, source.size):
            if number == 2 and wire == 2:  # meta_graphs
                for n2, w2, v2, l2 in cur.fields(value, value + length):
                    if n2 == 2 and w2 == 2:  # graph_def
                        _graph_def(cur, v2, v2 + l2, graphs)
            elif number != 1:
                raise ProtoError(f"unexpected field {number} in a SavedModel")
    else:
        _graph_def(cur, 0, source.size, graphs)
    if not any(g.order for g in graphs):
        raise ProtoError("no graph nodes found: not a SavedModel or GraphDef")
    return graphs


def _constant_paths(graph: _Graph, input_name: str) -> list[str]:
    """String constants feeding ``input_name`` through identity-like ops (bounded)."""
    seen: set[str] = set()
    todo = [input_name]
    found: list[str] = []
    while todo and len(seen) < MAX_DEPTH:
        name = todo.pop().lstrip("^").split(":")[0]
        if name in seen:
            continue
        seen.add(name)
        node = graph.nodes.get(name)
        if node is None:
            continue
        if node.op == "Const":
            found.extend(node.strings)
        elif node.op in _PASS_THROUGH:
            todo.extend(node.inputs)
    return found


def scan_saved_model_pb(
    source: ByteSource, location: Location, options: ScanOptions, recurse: Recurse, depth: int
) -> Sequence[Finding]:
    """Scanner entry point (see :data:`pytest_mlsec.artifacts.base.FormatScanner`)."""
    try:
        graphs = parse_graphs(source)
    except (ProtoError, OSError, ValueError, OverflowError, MemoryError, RecursionError) as exc:
        return [R.TF_UNREADABLE.finding(location, f"TensorFlow protobuf could not be parsed: {exc}", key="parse")]
    findings: list[Finding] = []
    reported: set[tuple[str, str]] = set()
    for graph in graphs:
        for node in graph.order:
            where = Location(path=location.path, member=location.member, offset=node.offset, resource=location.resource)
            if (
                node.op == "ImmutableConst"
                and node.strings
                and all(v.startswith("memmapped_package://") for v in node.strings)
            ):
                continue  # memmapped graphs (TF mobile) read their own package, not an arbitrary file
            if node.op in RISKY_OPS and (node.op, node.name) not in reported:
                reported.add((node.op, node.name))
                what, severity = RISKY_OPS[node.op]
                findings.append(
                    R.TF_RISKY_OP.finding(
                        where,
                        f"node {node.name[:80]!r} uses op {node.op} ({what})",
                        severity=severity,
                        evidence={"op": node.op, "node": node.name[:200], "inputs": node.inputs[:5]},
                        key=f"{node.op}:{node.name[:200]}",
                    )
                )
            elif node.op in PATH_OPS and node.inputs:
                for path in _constant_paths(graph, node.inputs[0]):
                    problem = location_problem(path)
                    if problem and problem != "empty location" and (node.op, path) not in reported:
                        reported.add((node.op, path))
                        findings.append(
                            R.TF_RISKY_OP.finding(
                                where,
                                f"node {node.name[:80]!r} ({node.op}) uses the constant file name {path[:200]!r} "
                                f"({problem})",
                                evidence={"op": node.op, "node": node.name[:200], "path": path[:500]},
                                key=f"{node.op}:{path[:500]}",
                            )
                        )
    return findings
