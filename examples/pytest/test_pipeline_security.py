"""Security tests for an ML pipeline, written with the pytest-mlsec fixtures.

Run from the repository root:  .venv/bin/pytest examples/pytest -p no:cacheprovider
The first test passes; the ``unsafe`` ones are marked xfail(strict) to show what a failure prints
(remove the marker to see the full message).
"""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent


def test_released_model_is_safe(assert_no_pickle):
    report = assert_no_pickle(EXAMPLES / "models" / "safe")
    assert report.findings == ()


def test_training_role_is_least_privilege(assert_least_privilege):
    assert_least_privilege(EXAMPLES / "iam" / "scoped-sagemaker-role.json")


def test_requirements_are_pinned_with_hashes(assert_pinned_deps):
    assert_pinned_deps(EXAMPLES / "deps" / "pinned" / "requirements.txt")


@pytest.mark.xfail(strict=True, reason="demonstrates a failing check: the model runs os.system when loaded")
def test_unsafe_model_is_caught(assert_no_pickle):
    assert_no_pickle(EXAMPLES / "models" / "unsafe")


@pytest.mark.xfail(strict=True, reason="demonstrates a failing check: sagemaker:* and PassRole on *")
def test_loose_role_is_caught(assert_least_privilege):
    assert_least_privilege(EXAMPLES / "iam" / "loose-sagemaker-role.json")
