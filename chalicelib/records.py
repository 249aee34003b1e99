"""`Record`: a slotted value class that costs nothing to define.

A dataclass execs generated code (its `__init__`, `__repr__`, `__eq__`) when its module is
imported, ~0.7 ms per class; a follower's first message waits for every module the callback
imports (cold start). A Record subclass lists its fields in `__slots__` (annotate them too, for
readers and type checkers) and gets the rest from here: a keyword-only constructor that requires
every field exactly once, a repr, and equality by value (unhashable, like a mutable dataclass).
"""

from __future__ import annotations

from typing import Any


class Record:
    __slots__ = ()
    _fields: tuple[str, ...] = ()  # every field, the base classes' first

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._fields = (*cls._fields, *vars(cls).get("__slots__", ()))

    def __init__(self, **values: Any) -> None:
        # As many names as fields, each one a slot (setattr refuses any other): all are given.
        try:
            if len(values) != len(self._fields):
                raise AttributeError
            for name, value in values.items():
                setattr(self, name, value)
        except AttributeError:
            raise TypeError(f"{type(self).__name__} takes exactly {self._fields}") from None

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._fields)

    __hash__ = None  # type: ignore[assignment]
