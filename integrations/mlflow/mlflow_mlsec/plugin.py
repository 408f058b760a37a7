"""pytest-mlsec plugin (entry-point group ``mlsec``): the gate's own rules, for ``mlsec rules``.

The gate emits MLSEC-MLF-* findings outside any check; listing them here lets ``mlsec rules``
document them and lets the core reject a clashing id. Importing this module imports no MLflow.
"""

from __future__ import annotations

from mlflow_mlsec.rules import RULES
from pytest_mlsec.hooks import hookimpl
from pytest_mlsec.rules import Rule


@hookimpl
def mlsec_rules() -> tuple[Rule, ...]:
    return RULES
