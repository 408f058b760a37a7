"""Safe YAML for CloudFormation: short-form intrinsics (``!Sub``, ``!Ref``...) become ``{"Fn::Sub": ...}``.

Built on ``yaml.SafeLoader`` (never the full loader): a template is data, never code.
"""

from __future__ import annotations

from typing import Any

import yaml

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CfnLoader(_Base):  # type: ignore[misc]
    """SafeLoader that maps every ``!Tag`` to the long-form CloudFormation intrinsic."""


def _intrinsic(loader: Any, suffix: str, node: Any) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
