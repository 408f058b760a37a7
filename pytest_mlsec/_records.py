"""Immutable value records for the types every check run touches (findings, rules, options).

Why not dataclasses: importing :mod:`dataclasses` pulls in :mod:`inspect` (and ``ast``, ``dis``,
``tokenize``), and each ``@dataclass`` generates and compiles its methods at import time. On the
``mlsec scan`` path that was ~12 ms of a ~55 ms start-up, paid by every pre-commit hook and
pipeline step. These records keep what callers relied on: keyword construction, value equality
and hashing, a readable ``repr``, immutability, pickling, ``__match_args__``, and ``replace()``
(``finding.replace(severity=...)``, the counterpart of ``dataclasses.replace``).

A record class lists its fields in ``_fields`` (constructor keyword names, repr order) and writes
a typed ``__init__``. :class:`FrozenRecord` instances store their fields with
``object.__setattr__`` and refuse assignment afterwards; plain :class:`Record` instances (the
pickle VM's hot records) assign normally. ``_compare`` narrows equality and hashing to some
fields (evidence does not make a finding different, for instance).
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

__all__ = ["FrozenRecord", "FrozenRecordError", "Record"]


class FrozenRecordError(AttributeError):
    """Assigning to a field of an immutable record (like ``dataclasses.FrozenInstanceError``)."""


class Record:
    """Value records: equality, hashing, repr, pickling and ``replace`` from ``_fields``."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _compare: ClassVar[tuple[str, ...] | None] = None  # None: every field

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__match_args__ = cls._fields  # type: ignore[attr-defined,misc]

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in (self._fields if self._compare is None else self._compare))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Record)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), {name: getattr(self, name) for name in self._fields}))

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied (unknown field names raise ``TypeError``, as the constructor does)."""
        values = {name: getattr(self, name) for name in self._fields}
        values.update(changes)
        return type(self)(**values)


class FrozenRecord(Record):
    """A record whose fields cannot be reassigned (hashing by value stays sound)."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenRecordError(f"cannot assign to field {name!r} of an immutable {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise FrozenRecordError(f"cannot delete field {name!r} of an immutable {type(self).__name__}")


def _rebuild(cls: type[Record], values: dict[str, Any]) -> Record:
    return cls(**values)
