"""The pickle VM: every opcode family, stack/memo semantics, errors after payloads, bounds."""

from __future__ import annotations

import collections
import pickle
import struct

import pytest

from pytest_mlsec.artifacts.base import Limits
from pytest_mlsec.artifacts.pickle_vm import Build, Call, Global, PersistentId
from tests.artifacts import asm
from tests.artifacts.conftest import BENIGN, analyze, blocking, keys, rule_ids

DATA = {"a": [1, -2, 2**70, 2.5, "s\u00e9", b"b", (1, 2), None, True, False], "t": (), "l": [], "n": {"x": {"y": [3]}}}


@pytest.mark.parametrize("protocol", range(6))
def test_plain_data_round_trips_as_real_values(protocol: int) -> None:
    result = analyze(pickle.dumps(DATA, protocol=protocol))
    assert result.complete
    assert result.findings == ()
    assert result.values == (DATA,)


@pytest.mark.parametrize("protocol", range(6))
def test_sets_and_frozensets(protocol: int) -> None:
    result = analyze(pickle.dumps([{1, 2}, frozenset({3})], protocol=protocol))
    assert result.complete
    value = result.values[0]
    if protocol >= 4:
        assert value == [{1, 2}, frozenset({3})]
    assert not blocking(result.findings)


@pytest.mark.parametrize("protocol", range(6))
def test_os_system_found_in_every_protocol(protocol: int) -> None:
    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            import os

            return (os.system, ("true",))

    result = analyze(pickle.dumps(Payload(), protocol=protocol))
    assert "os.system" in keys(result.findings)
    assert "MLSEC-PKL-001" in rule_ids(result.findings)
    use = next(g for g in result.globals if g.qualname == "os.system")
    assert use.raw_module in ("posix", "nt", "os")


def test_torch_data_pkl_values_follow_the_shared_api() -> None:
    import zipfile

    with zipfile.ZipFile(BENIGN / "state_dict.pt") as zf:
        data = zf.read("state_dict/data.pkl")
    result = analyze(data)
    assert result.complete
    assert not result.findings
    top = result.values[0]
    assert isinstance(top, Build)  # OrderedDict + _metadata state
    od = top.obj
    assert isinstance(od, Call)
    assert od.func == Global("collections", "OrderedDict")
    name, tensor = od.items[0]
    assert name == "0.weight"
    assert isinstance(tensor, Call)
    assert tensor.func == Global("torch._utils", "_rebuild_tensor_v2")
    pid = tensor.args[0]
    assert isinstance(pid, PersistentId)
    assert pid.pid[0] == "storage"
    assert pid.pid[1] == Global("torch", "FloatStorage")
    assert pid.pid[3] == "cpu"
    assert tensor.args[2] == (3, 4)


def test_inst_and_obj() -> None:
    inst = asm.proto(0)[:0] + b"(S'true'\nios\nsystem\n."
    assert "os.system" in keys(analyze(inst).findings)
    obj = b"(cos\nsystem\nS'true'\no."
    assert "os.system" in keys(analyze(obj).findings)


def test_newobj_and_newobj_ex() -> None:
    newobj = asm.proto(2) + asm.global_("subprocess", "Popen") + asm.tuple_(asm.binunicode("true")) + b"\x81" + b"."
    assert "subprocess.Popen" in keys(analyze(newobj).findings)
    newobj_ex = (
        asm.proto(4) + asm.stack_global("subprocess", "Popen") + asm.tuple_(asm.sbu("true")) + asm.EMPTY_DICT + b"\x92."
    )
    assert "subprocess.Popen" in keys(analyze(newobj_ex).findings)


def test_stack_global_operands_from_memo_after_pop_and_dup() -> None:
    body = asm.sbu("os") + asm.binput(0) + asm.POP
    body += asm.sbu("system") + asm.DUP + asm.binput(1) + asm.POP + asm.POP
    body += asm.binget(0) + asm.binget(1) + b"\x93" + asm.tuple_(asm.sbu("true")) + b"R."
    result = analyze(asm.proto(4) + body)
    assert "os.system" in keys(result.findings)


def test_memoize_then_long_binget() -> None:
    body = asm.sbu("builtins") + asm.MEMOIZE + asm.sbu("eval") + asm.MEMOIZE + asm.POP + asm.POP
    body += b"j" + struct.pack("<I", 0) + b"j" + struct.pack("<I", 1) + b"\x93" + asm.tuple_(asm.sbu("1")) + b"R."
    assert "builtins.eval" in keys(analyze(asm.proto(4) + body).findings)


def test_dotted_names_resolve_like_find_class() -> None:
    r1 = analyze(asm.proto(4) + asm.call(asm.stack_global("posixpath", "os.system"), asm.sbu("true")) + b".")
    assert "os.system" in keys(r1.findings)
    assert "MLSEC-PKL-001" in rule_ids(r1.findings)
    r2 = analyze(asm.proto(4) + asm.call(asm.stack_global("builtins", "print.__self__.exec"), asm.sbu("1")) + b".")
    assert "builtins.exec" in keys(r2.findings)
    # an allowed-looking name reached through another module is *not* allowed
    r3 = analyze(asm.proto(4) + asm.call(asm.stack_global("evil", "collections.OrderedDict")) + b".")
    assert blocking(r3.findings)


def test_python2_names_are_mapped() -> None:
    r = analyze(b"c__builtin__\neval\n(S'1'\ntR.")
    assert "builtins.eval" in keys(r.findings)
    ok = analyze(b"c__builtin__\nset\n((lp0\nI1\natR.")
    assert not ok.findings


def test_non_constant_stack_global_operand() -> None:
    body = asm.call(asm.stack_global("builtins", "str"), asm.sbu("os")) + asm.sbu("system") + b"\x93."
    result = analyze(asm.proto(4) + body)
    assert "MLSEC-PKL-007" in rule_ids(result.findings)


@pytest.mark.parametrize("op", [b"\x82\x01", b"\x83\x01\x00", b"\x84\x01\x00\x00\x00"])
def test_extension_codes_are_findings(op: bytes) -> None:
    result = analyze(asm.proto(2) + op + asm.tuple_() + b"R.")
    assert "MLSEC-PKL-008" in rule_ids(result.findings)
    assert blocking(result.findings)


def test_persistent_ids_both_forms() -> None:
    r = analyze(b"Pstorage0\n.")
    assert r.values == (PersistentId("storage0"),)
    r = analyze(asm.proto(2) + asm.tuple_(asm.binunicode("storage"), asm.binint(0)) + b"Q.")
    assert r.values == (PersistentId(("storage", 0)),)


def test_frame_bytearray8_and_out_of_band_buffers() -> None:
    body = asm.frame(b"\x96" + struct.pack("<Q", 3) + b"abc" + b"\x97\x98" + b"\x86.")
    r = analyze(asm.proto(5) + body)
    assert r.complete
    assert not r.findings
    assert r.values[0][0] == bytearray(b"abc")


def test_stacked_pickles_are_all_analysed() -> None:
    first = pickle.dumps({"ok": 1}, protocol=2)
    second = asm.system_pickle("true")
    r = analyze(first + second)
    assert len(r.values) == 2
    assert "os.system" in keys(r.findings)


def test_payload_before_a_break_is_still_reported() -> None:
    broken = asm.proto(2) + asm.call(asm.global_("os", "system"), asm.binunicode("true")) + b"\xff\xff"
    r = analyze(broken)
    assert not r.complete
    assert {"MLSEC-PKL-001", "MLSEC-PKL-009"} <= rule_ids(r.findings)


def test_truncated_stream() -> None:
    r = analyze(asm.system_pickle("true")[:-1])
    assert not r.complete
    assert "os.system" in keys(r.findings)
    assert "MLSEC-PKL-009" in rule_ids(r.findings)


def test_trailing_garbage() -> None:
    r = analyze(pickle.dumps([1], protocol=2) + b"\x00\x01garbage")
    assert "MLSEC-PKL-010" in rule_ids(r.findings)


def test_unknown_protocol_is_malformed() -> None:
    assert "MLSEC-PKL-009" in rule_ids(analyze(b"\x80\x09N.").findings)


def test_popped_call_result_still_counts() -> None:
    body = asm.call(asm.global_("os", "system"), asm.binunicode("true")) + asm.POP + asm.NONE + b"."
    r = analyze(asm.proto(2) + body)
    assert "os.system" in keys(r.findings)


def test_indirect_call_of_a_call_result() -> None:
    getter = asm.call(asm.global_("builtins", "getattr"), asm.global_("os", "path"), asm.binunicode("join"))
    r = analyze(asm.proto(2) + asm.call(getter, asm.binunicode("a")) + b".")
    assert {"MLSEC-PKL-013", "MLSEC-PKL-002"} <= rule_ids(r.findings)


def test_build_on_an_imported_class_is_monkey_patching() -> None:
    body = asm.global_("collections", "OrderedDict") + asm.EMPTY_DICT + b"b."
    assert "MLSEC-PKL-012" in rule_ids(analyze(asm.proto(2) + body).findings)


def test_ordered_dict_items_are_recorded() -> None:
    r = analyze(pickle.dumps(collections.OrderedDict(a=1, b=2), protocol=2))
    od = r.values[0]
    assert (isinstance(od, Call) and od.items == [("a", 1), ("b", 2)]) or od.args == ([["a", 1], ["b", 2]],)


def test_nested_pickle_in_bytes_is_scanned() -> None:
    inner = asm.system_pickle("true")
    r = analyze(asm.proto(3) + asm.binbytes(inner) + b".")
    assert "MLSEC-PKL-015" in rule_ids(r.findings)
    assert "os.system" in keys(r.findings)


def test_nested_pickle_via_codecs_encode_latin1() -> None:
    inner = asm.system_pickle("true").decode("latin-1")
    body = asm.call(asm.global_("_codecs", "encode"), asm.binunicode(inner), asm.binunicode("latin1"))
    r = analyze(asm.proto(2) + body + b".")
    assert "MLSEC-PKL-015" in rule_ids(r.findings)


def test_opcode_limit() -> None:
    r = analyze(asm.proto(2) + b"N0" * 1000 + b"N.", limits=Limits(max_opcodes=100))
    assert "MLSEC-PKL-011" in rule_ids(r.findings)
    assert not r.complete


@pytest.mark.parametrize("pairs", [0, 500, 1023, 1024, 3000])
def test_opcode_limit_is_exact_and_shared_by_stacked_pickles(pairs: int) -> None:
    one = asm.proto(2) + b"N0" * pairs + b"N."  # PROTO + 2 per pair + NONE + STOP
    count = 2 * pairs + 3
    assert analyze(one, limits=Limits(max_opcodes=count)).complete
    assert "MLSEC-PKL-011" in rule_ids(analyze(one, limits=Limits(max_opcodes=count - 1)).findings)
    assert analyze(one + one, limits=Limits(max_opcodes=2 * count)).complete
    assert not analyze(one + one, limits=Limits(max_opcodes=2 * count - 1)).complete


def test_memo_limit() -> None:
    r = analyze(asm.proto(4) + b"N" + b"\x94" * 50 + b".", limits=Limits(max_memo=10))
    assert "MLSEC-PKL-011" in rule_ids(r.findings)


def test_depth_limit() -> None:
    r = analyze(asm.proto(2) + b"(" * 200 + b"N.", limits=Limits(max_stack_depth=50))
    assert "MLSEC-PKL-011" in rule_ids(r.findings)


def test_memo_get_of_missing_key() -> None:
    r = analyze(asm.proto(2) + asm.binget(7) + b".")
    assert "MLSEC-PKL-009" in rule_ids(r.findings)


def test_large_byte_strings_are_skipped_not_loaded() -> None:
    from pytest_mlsec.artifacts.pickle_vm import SkippedBytes

    n = (64 << 20) + 10
    data = asm.proto(4) + b"\x8e" + struct.pack("<Q", n) + b"\x00" * n + b"."
    r = analyze(data)
    assert r.complete
    assert isinstance(r.values[0], SkippedBytes)
    assert r.values[0].length == n


@pytest.mark.parametrize("name", sorted(p.name for p in BENIGN.glob("*.pkl")))
def test_benign_pickles_from_python_and_numpy(name: str) -> None:
    r = analyze((BENIGN / name).read_bytes())
    assert r.complete
    assert r.findings == ()


def test_setitem_on_a_list_does_not_stop_the_analysis() -> None:
    # the real loader accepts list[0] = x; a payload after it must still be seen
    body = b"]" + asm.binint(0) + asm.NONE + b"s0" + asm.call(asm.global_("os", "system"), asm.binunicode("x")) + b"."
    assert "os.system" in keys(analyze(asm.proto(2) + body).findings)


def test_vm_records_compare_by_value_like_frozen_records() -> None:
    """The VM's records are hand-written (import cost); they must still behave as values."""
    assert Global("os", "system") == Global("os", "system")
    assert len({Global("os", "system"), Global("os", "system"), Global("os", "popen")}) == 2
    assert Global("os", "system") != ("os", "system")
    assert str(Global("os.path", "join")) == "os.path.join"
    assert repr(Global("os", "system")) == "Global(module='os', name='system')"
    # items/appended record what happened to the result later: not part of its identity
    a, b = Call(Global("m", "f"), (1,)), Call(Global("m", "f"), (1,))
    a.items.append(("k", "v"))
    assert a == b
    assert hash(a) == hash(b)
    assert a.items == [("k", "v")]
    assert b.items == []
    assert Call(Global("m", "f"), (1,)) != Call(Global("m", "f"), (2,))
    assert PersistentId(("storage", 1)) == PersistentId(("storage", 1))
    with pytest.raises(TypeError):
        hash(Build(Call(Global("m", "f"), ()), {"a": 1}))  # state is mutable: never a dict key


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_values_survive_every_read_window_boundary(protocol: int) -> None:
    """The VM reads 16 KiB, then windows growing x4: arguments straddling a boundary still decode."""
    data = [i * 7919 for i in range(40_000)] + ["é" * 300] * 50 + [b"\x00" * 70_000]
    blob = pickle.dumps(data, protocol=protocol)
    assert len(blob) > 100_000  # past the first two windows (16 KiB, then 64 KiB more)
    r = analyze(blob)
    assert r.complete
    assert not r.findings
    assert r.values == (data,)
