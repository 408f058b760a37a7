from __future__ import annotations

import pytest

from pytest_mlsec.artifacts.onnx_format import location_problem, scan_onnx
from pytest_mlsec.artifacts.tensorflow_format import scan_saved_model_pb
from pytest_mlsec.findings import Severity
from tests.artifacts_formats.builders import (
    onnx_model,
    onnx_node,
    onnx_tensor,
    pb_bytes,
    rule_ids,
    run,
    saved_model,
    tf_graph,
    tf_node,
)

ESCAPE, CUSTOM, ONNX_BAD = "MLSEC-FMT-070", "MLSEC-FMT-071", "MLSEC-FMT-072"
TF_RISKY, TF_BAD = "MLSEC-FMT-080", "MLSEC-FMT-081"


# --- ONNX ----------------------------------------------------------------------------------------
def test_inline_and_relative_external_data_are_clean() -> None:
    model = onnx_model(
        initializers=[
            onnx_tensor("w0", raw=bytes(4000)),
            onnx_tensor("w1", "weights.bin"),
            onnx_tensor("w2", "data/layer2.bin"),
            onnx_tensor("w3", "./model.onnx.data"),
        ],
        nodes=[
            onnx_node("MatMul"),
            onnx_node("LinearRegressor", "ai.onnx.ml"),
            onnx_node("FusedGemm", "com.microsoft"),
        ],
    )
    assert run(scan_onnx, model, "model.onnx") == []


@pytest.mark.parametrize(
    "location",
    [
        "../../../etc/passwd",
        "/etc/shadow",
        "data/../../secrets.bin",
        "C:\\Windows\\win.ini",
        "..\\..\\x",
        "~/.aws/credentials",
    ],
)
def test_external_data_escaping_the_folder(location: str) -> None:
    findings = run(scan_onnx, onnx_model(initializers=[onnx_tensor("w", location)]), "model.onnx")
    assert rule_ids(findings) == {ESCAPE}
    assert findings[0].evidence["location"] == location
    assert findings[0].severity == Severity.HIGH


def test_escape_hidden_in_subgraph_attribute_and_sparse_initializer() -> None:
    inner_graph = pb_bytes(5, onnx_tensor("inner", "../../inner.bin")) + pb_bytes(2, "body")
    attr = pb_bytes(1, "then_branch") + pb_bytes(6, inner_graph)
    sparse = pb_bytes(1, onnx_tensor("values", "/abs/values.bin")) + pb_bytes(2, onnx_tensor("idx"))
    graph = pb_bytes(1, onnx_node("If", attrs=[attr])) + pb_bytes(15, sparse)
    model = pb_bytes(7, graph)
    found = {f.evidence["location"] for f in run(scan_onnx, model, "m.onnx")}
    assert found == {"../../inner.bin", "/abs/values.bin"}


def test_constant_node_tensor_attribute_is_checked() -> None:
    attr = pb_bytes(1, "value") + pb_bytes(5, onnx_tensor("c", "../c.bin"))
    model = onnx_model(nodes=[onnx_node("Constant", attrs=[attr])])
    assert rule_ids(run(scan_onnx, model, "m.onnx")) == {ESCAPE}


def test_custom_domain_operator_is_info() -> None:
    findings = run(scan_onnx, onnx_model(nodes=[onnx_node("Decrypt", "com.acme.ops")]), "m.onnx")
    assert rule_ids(findings) == {CUSTOM}
    assert findings[0].severity == Severity.INFO
    assert findings[0].evidence == {"domain": "com.acme.ops", "op_type": "Decrypt"}


def test_model_local_function_domain_is_not_custom() -> None:
    function = pb_bytes(1, "MyFn") + pb_bytes(10, "local.fns") + pb_bytes(7, onnx_node("Relu"))
    model = onnx_model(nodes=[onnx_node("MyFn", "local.fns")]) + pb_bytes(25, function)
    assert run(scan_onnx, model, "m.onnx") == []


@pytest.mark.parametrize(
    "data",
    [b"", b"\x08", b"\xff" * 20, pb_bytes(7, b"\x0a\xff\xff\xff\xff\x0f"), b"\x0b\x0c", b"just text, not a model"],
)
def test_garbage_is_one_unreadable_finding(data: bytes) -> None:
    findings = run(scan_onnx, data, "m.onnx")
    assert rule_ids(findings) == {ONNX_BAD}
    assert len(findings) == 1


def test_deep_nesting_is_bounded() -> None:
    graph = pb_bytes(2, "g")
    for _ in range(200):
        graph = pb_bytes(1, onnx_node("If", attrs=[pb_bytes(1, "b") + pb_bytes(6, graph)]))
    findings = run(scan_onnx, pb_bytes(7, graph), "m.onnx")
    assert rule_ids(findings) == {ONNX_BAD}
    assert "deeper" in findings[0].message


@pytest.mark.parametrize(
    ("location", "problem"),
    [("a.bin", None), ("sub/a.bin", None), ("a..b.bin", None), ("file:///etc/passwd", "URL or drive-qualified path")],
)
def test_location_problem(location: str, problem: str | None) -> None:
    assert location_problem(location) == problem


# --- TensorFlow ---------------------------------------------------------------------------------
def _ordinary_saver_nodes() -> list[bytes]:
    return [
        tf_node("saver_filename", "Placeholder"),
        tf_node("StatefulPartitionedCall", "StatefulPartitionedCall", ["saver_filename"]),
        tf_node("save/Const", "PlaceholderWithDefault", ["save/filename"]),
        tf_node("save/filename", "Const", string_value="model"),
        tf_node("save/SaveV2", "SaveV2", ["save/Const", "save/SaveV2/tensor_names"]),
        tf_node("save/RestoreV2", "RestoreV2", ["save/Const"]),
    ]


def test_ordinary_saved_model_is_clean() -> None:
    graph = tf_graph(
        [
            tf_node("x", "Placeholder"),
            tf_node("w", "VarHandleOp"),
            tf_node("y", "MatMul", ["x", "w"]),
            *_ordinary_saver_nodes(),
        ],
        functions=[[tf_node("a", "Relu", ["x"]), tf_node("s", "SaveV2", ["file_prefix"])]],
    )
    assert run(scan_saved_model_pb, saved_model(graph), "saved_model.pb") == []


@pytest.mark.parametrize("op", ["ReadFile", "WriteFile", "MatchingFiles", "PyFunc", "EagerPyFunc", "ImmutableConst"])
def test_risky_ops(op: str) -> None:
    graph = tf_graph([tf_node("path", "Const", string_value="/etc/passwd"), tf_node("evil", op, ["path"])])
    findings = run(scan_saved_model_pb, saved_model(graph), "saved_model.pb")
    assert rule_ids(findings) == {TF_RISKY}
    assert findings[0].evidence["op"] == op


def test_risky_op_inside_function_library() -> None:
    graph = tf_graph([tf_node("x", "Placeholder")], functions=[[tf_node("leak", "ReadFile", ["x"])]])
    assert rule_ids(run(scan_saved_model_pb, saved_model(graph), "saved_model.pb")) == {TF_RISKY}


def test_save_with_constant_escaping_path() -> None:
    graph = tf_graph(
        [
            tf_node("p", "Const", string_value="/home/user/.bashrc"),
            tf_node("id", "Identity", ["p"]),
            tf_node("overwrite", "SaveV2", ["id:0", "names", "slices", "t"]),
        ]
    )
    findings = run(scan_saved_model_pb, saved_model(graph), "saved_model.pb")
    assert rule_ids(findings) == {TF_RISKY}
    assert findings[0].evidence["path"] == "/home/user/.bashrc"


def test_frozen_graphdef_is_read_too() -> None:
    findings = run(scan_saved_model_pb, tf_graph([tf_node("w", "WriteFile", ["a", "b"])]), "frozen.pb")
    assert rule_ids(findings) == {TF_RISKY}
    assert findings[0].severity == Severity.CRITICAL


@pytest.mark.parametrize("data", [b"", b"\xff\xff\xff", b"\x08\x01", saved_model(b"\x0a\x05abc")[:-2], b"\x1a\x00"])
def test_tf_garbage_is_one_unreadable_finding(data: bytes) -> None:
    findings = run(scan_saved_model_pb, data, "saved_model.pb")
    assert rule_ids(findings) == {TF_BAD}
    assert len(findings) == 1


def test_immutable_const_memmapped_package_is_clean_arbitrary_file_is_not() -> None:
    ok = tf_graph([tf_node("w", "ImmutableConst", attr_s="memmapped_package://weights")])
    assert run(scan_saved_model_pb, ok, "frozen.pb") == []
    bad = tf_graph([tf_node("w", "ImmutableConst", attr_s="/home/user/.ssh/id_rsa")])
    assert rule_ids(run(scan_saved_model_pb, bad, "frozen.pb")) == {TF_RISKY}
