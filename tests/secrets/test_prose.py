"""Prose that reads like an assignment is not a credential; a real one next to it still is."""

from __future__ import annotations

from pytest_mlsec.secrets.detectors import scan_buffer


def detectors(text: str) -> list[str]:
    return [c.detector for c in scan_buffer(text.encode(), "text")]


def test_english_colon_after_pass_is_not_a_password() -> None:
    assert detectors("so their pickles pass: constructing one runs nothing\n") == []
    assert detectors("All tests pass: great\n") == []


def test_yaml_pass_key_with_a_password_value_is_reported() -> None:
    value = "v" + "9Lq" + "x!7mT"  # built here, not a committed literal
    assert detectors(f"pass: {value}\n") == ["password-assignment"]
    assert detectors('pass: "correcthorse"\n') == ["password-assignment"]  # quoted: meant as a value
