"""``@task.mlsec_gate``: gate whatever a TaskFlow function returns.

The decorated function produces the targets (typically the path of the model it just trained
or downloaded); the task then runs the check over them exactly like :class:`MLSecCheckOperator`
and fails, retries or skips the same way. Its return value is the vetted targets (so the next
task can register or deploy the model it receives); the report is in XCom under
``mlsec_report``::

    @task.mlsec_gate(check="scan", fail_on="high")
    def train() -> str:
        ...
        return "/models/churn/model.safetensors"

    register(train())          # register() only runs when the model passed the scan
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk.bases.decorator import DecoratedOperator, task_decorator_factory

from mlsec_airflow.operators import MLSecCheckOperator

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.bases.decorator import TaskDecorator


class _MLSecGateDecoratedOperator(DecoratedOperator, MLSecCheckOperator):
    """Calls the function for its targets, then gates them."""

    custom_operator_name: ClassVar[str] = "@task.mlsec_gate"
    template_fields: Sequence[str] = (*DecoratedOperator.template_fields, *MLSecCheckOperator.template_fields)
    template_fields_renderers: ClassVar[dict[str, str]] = {
        **DecoratedOperator.template_fields_renderers,
        **MLSecCheckOperator.template_fields_renderers,
    }

    def execute(self, context: Context) -> Any:
        # The function receives its own arguments plus any context keys it names (ds, params...).
        produced = self.python_callable(*self.op_args, **self.determine_kwargs({**context, **self.op_kwargs}))
        if produced is None and self.targets is not None:
            produced = self.targets
        result = self.run_check(produced)
        self.publish(result, context)
        self.decide(result)
        return _plain(produced)


def _plain(value: Any) -> Any:
    """The function's result with paths as strings, so it always fits in XCom."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def mlsec_gate_task(
    python_callable: Callable[..., Any] | None = None,
    multiple_outputs: bool | None = None,
    **kwargs: Any,
) -> TaskDecorator:
    """Wrap a function that returns targets into a pytest-mlsec gate (``@task.mlsec_gate``).

    Takes the arguments of :class:`MLSecCheckOperator` (``check=``, ``fail_on=``, ``options=``,
    ``soft_fail=``, ``retry_on_failure=``, ``aws_conn_id=``...) plus the usual task arguments.
    """
    return task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=multiple_outputs,
        decorated_operator_class=_MLSecGateDecoratedOperator,
        **kwargs,
    )
