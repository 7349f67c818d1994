"""Frozen records: what ``@dataclass(frozen=True)`` makes, without compiling code at import.

``dataclass`` writes each method it adds as Python source and compiles it: half a millisecond
for a frozen class, 49 M of the 398 M instructions that ``mailpatch patch --check`` on one
email took (``benchmarks/instructions.py``), more than the command's own work. A record is a
dataclass all the same -- ``dataclasses.fields``, ``replace``, ``asdict`` and ``is_dataclass``
take it, mypy reads it as frozen -- made by ``dataclass(init=False, repr=False, eq=False)``,
which compiles nothing; ``__init__``, ``__repr__``, ``__eq__``, ``__hash__`` and the frozen
``__setattr__``/``__delattr__`` are shared functions that read the fields by name, and behave
as the compiled ones do (``tests/test_record.py`` holds each record against a dataclass twin).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, Field, FrozenInstanceError, dataclass, field, fields
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")


def _getter(names: tuple[str, ...]) -> Callable[[object], tuple[Any, ...]]:
    """The values of ``names`` as a tuple, read in C."""
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    if not names:
        return lambda obj: ()
    return attrgetter(*names)


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[T]) -> type[T]:
    """``cls`` as ``@dataclass(frozen=True)`` makes it (no InitVar or keyword-only fields, no
    factory for a field outside ``__init__``: refused, not mishandled).
    As there, a ``__repr__`` or ``__eq__`` written in the class is kept. A record has a
    docstring of its own (dataclass would make one from the signature: most of its cost)."""
    own = frozenset(vars(cls))
    if not cls.__doc__:
        raise TypeError(f"{cls.__qualname__}: a record says what it is in a docstring")
    if own & {"__init__", "__setattr__", "__delattr__", "__hash__"}:
        raise TypeError(
            f"{cls.__qualname__}: a record writes its own __init__, __hash__ and "
            "frozen __setattr__/__delattr__"
        )
    if "InitVar" in str(getattr(cls, "__annotations__", {})):
        raise TypeError(f"{cls.__qualname__}: a record has no InitVar fields")
    cls = dataclass(init=False, repr=False, eq=False)(cls)
    every: tuple[Field[Any], ...] = fields(cls)  # type: ignore[arg-type]
    for f in every:
        if f.kw_only is True or (not f.init and f.default_factory is not MISSING):
            raise TypeError(
                f"{cls.__qualname__}.{f.name}: a record has no keyword-only fields, nor "
                "factories for fields outside __init__"
            )
    # as dataclass(frozen=True) says of itself: a frozen dataclass may extend a record
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    params.init = params.repr = params.eq = params.frozen = True
    init = tuple(f for f in every if f.init)
    names = tuple(f.name for f in init)
    known = frozenset(names)
    defaults = {f.name: f.default for f in init if f.default is not MISSING}
    factories = {f.name: f.default_factory for f in init if f.default_factory is not MISSING}
    # fields outside __init__ take their default, as dataclass's __init__ gives them
    later = {f.name: f.default for f in every if not f.init and f.default is not MISSING}
    compared = _getter(tuple(f.name for f in every if f.compare))
    hashed = _getter(tuple(f.name for f in every if (f.compare if f.hash is None else f.hash)))
    shown = tuple(f.name for f in every if f.repr)
    field_names = frozenset(f.name for f in every)
    post_init = hasattr(cls, "__post_init__")
    name = cls.__qualname__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if args:
            if len(args) > len(names):
                raise TypeError(
                    f"{name}.__init__() takes {len(names) + 1} positional arguments but "
                    f"{len(args) + 1} were given"
                )
            for key, value in zip(names, args, strict=False):
                if key in kwargs:
                    raise TypeError(f"{name}.__init__() got multiple values for argument {key!r}")
                kwargs[key] = value
        if not kwargs.keys() <= known:
            unknown = next(key for key in kwargs if key not in known)
            raise TypeError(f"{name}.__init__() got an unexpected keyword argument {unknown!r}")
        values = {**defaults, **kwargs}
        if len(values) < len(names):
            for key, factory in factories.items():
                if key not in values:
                    values[key] = factory()
            missing = [key for key in names if key not in values]
            if missing:
                raise TypeError(f"{name}.__init__() missing required argument(s): {missing}")
        state = self.__dict__
        state.update(values)
        state.update(later)
        if post_init:
            self.__post_init__()

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{key}={getattr(self, key)!r}" for key in shown)
        return f"{self.__class__.__qualname__}({inner})"

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is self.__class__:
            return bool(compared(self) == compared(other))
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(hashed(self))

    def __setattr__(self: Any, key: str, value: Any) -> None:
        if type(self) is cls or key in field_names:
            raise FrozenInstanceError(f"cannot assign to field {key!r}")
        super(cls, self).__setattr__(key, value)

    def __delattr__(self: Any, key: str) -> None:
        if type(self) is cls or key in field_names:
            raise FrozenInstanceError(f"cannot delete field {key!r}")
        super(cls, self).__delattr__(key)

    methods: dict[str, Callable[..., Any]] = {
        "__init__": __init__,
        "__repr__": __repr__,
        "__eq__": __eq__,
        "__hash__": __hash__,
        "__setattr__": __setattr__,
        "__delattr__": __delattr__,
    }
    for key, method in methods.items():
        if key not in own:
            method.__qualname__ = f"{name}.{key}"
            setattr(cls, key, method)
    cls.__signature__ = _Signature(cls, init)  # type: ignore[attr-defined]
    return cls


class _Factory:
    def __repr__(self) -> str:
        return "<factory>"  # what dataclass's signature shows for a default_factory


_FACTORY = _Factory()


class _Signature:
    """``inspect.signature(record)`` (help(), editors): the fields and their defaults, as
    dataclass's ``__init__`` shows them, made when first asked for. Only for the record
    itself: a class that extends it has its own."""

    def __init__(self, owner: type, init: tuple[Field[Any], ...]) -> None:
        self._owner, self._init = owner, init
        self._made: Any = None

    def __get__(self, obj: object, cls: type | None = None) -> Any:
        if (cls if cls is not None else type(obj)) is not self._owner:
            return None  # (inspect then reads the class's own __init__)
        if self._made is None:
            import inspect  # (click imports it anyway; a library user's help() pays here)

            kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
            self._made = inspect.Signature(
                [
                    inspect.Parameter(
                        f.name,
                        kind,
                        default=(
                            f.default
                            if f.default is not MISSING
                            else _FACTORY
                            if f.default_factory is not MISSING
                            else inspect.Parameter.empty
                        ),
                        annotation=f.type,
                    )
                    for f in self._init
                ],
                return_annotation=None,
            )
        return self._made
