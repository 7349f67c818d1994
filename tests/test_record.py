"""A record (``mailpatch._record``) behaves as ``@dataclass(frozen=True)`` does: each test
defines the same class both ways and holds them side by side."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import pickle
from collections.abc import Callable
from dataclasses import FrozenInstanceError, field
from typing import Any

import pytest

from mailpatch._record import record


def define(decorate: Callable[[type], type]) -> type:
    """One class with every kind of field a record may hold."""

    class Shape:
        """A shape."""

        name: str
        size: int = 0
        tags: tuple[str, ...] = ()
        extra: dict[str, int] = field(default_factory=dict)
        note: str = field(default="", compare=False)
        secret: str = field(default="s", repr=False)
        cached: int | None = field(default=None, init=False, compare=False, repr=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "name", self.name.strip())

        @property
        def area(self) -> int:
            return self.size * self.size

    return decorate(Shape)


RECORD, TWIN = define(record), define(dataclasses.dataclass(frozen=True))


def define_hashable(decorate: Callable[[type], type]) -> type:
    class Point:
        """A point."""

        name: str
        size: int = 0
        tags: tuple[str, ...] = ()

    return decorate(Point)


HASHABLE, HASHABLE_TWIN = (
    define_hashable(record),
    define_hashable(dataclasses.dataclass(frozen=True)),
)

CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    (("a",), {}),
    ((" a ",), {}),  # __post_init__ ran
    (("a", 2), {}),
    (("a",), {"size": 2, "tags": ("x",)}),
    ((), {"name": "b", "extra": {"k": 1}, "note": "n", "secret": "t"}),
    (("a", 2, ("x",), {"k": 1}, "n", "t"), {}),
]
BAD_CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((), {}),  # name missing
    (("a",), {"colour": "red"}),  # no such field
    (("a",), {"name": "b"}),  # name twice
    (("a", 2, (), {}, "", "", 7), {}),  # too many
    (("a",), {"cached": 3}),  # not an __init__ field
]


@pytest.mark.parametrize(("args", "kwargs"), CALLS)
def test_a_record_is_made_read_compared_and_hashed_as_its_twin(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    made, twin = RECORD(*args, **kwargs), TWIN(*args, **kwargs)
    assert repr(made) == repr(twin)
    assert dataclasses.asdict(made) == dataclasses.asdict(twin)
    assert [f.name for f in dataclasses.fields(made)] == [f.name for f in dataclasses.fields(twin)]
    again = RECORD(*args, **kwargs)
    assert made == again
    with pytest.raises(TypeError):  # as the twin's: a dict field cannot be hashed
        hash(made)
    assert (made == RECORD("other")) == (twin == TWIN("other"))
    assert made == dataclasses.replace(made, note="other")  # compare=False
    assert made != twin  # another class: NotImplemented both ways
    assert made.area == twin.area and made.cached is None
    assert made.__match_args__ == twin.__match_args__


@pytest.mark.parametrize(("args", "kwargs"), BAD_CALLS)
def test_a_record_refuses_the_calls_its_twin_refuses(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    with pytest.raises(TypeError) as twin_error:
        TWIN(*args, **kwargs)
    with pytest.raises(TypeError) as error:
        RECORD(*args, **kwargs)
    # each names the same argument (the words around it differ)
    named = [word for word in str(twin_error.value).split() if word.startswith("'")]
    assert all(word.strip(":,") in str(error.value) for word in named)


@pytest.mark.parametrize("args", [("a",), ("a", 2), ("a", 2, ("x", "y"))])
def test_a_record_hashes_as_its_twin(args: tuple[Any, ...]) -> None:
    assert hash(HASHABLE(*args)) == hash(HASHABLE_TWIN(*args))  # the hash of the fields' tuple


def test_each_record_gets_fresh_defaults_from_its_factories() -> None:
    one, two = RECORD("a"), RECORD("b")
    assert one.extra == {} and one.extra is not two.extra


@pytest.mark.parametrize("attribute", ["name", "cached", "anything"])
def test_a_record_is_frozen(attribute: str) -> None:
    made = RECORD("a")
    with pytest.raises(FrozenInstanceError):
        setattr(made, attribute, 1)
    with pytest.raises(FrozenInstanceError):
        delattr(made, attribute)


def test_replace_copy_and_pickle_make_equal_records() -> None:
    made = RECORD("a", 2, extra={"k": 1})
    changed = dataclasses.replace(made, size=3)
    assert changed == RECORD("a", 3, extra={"k": 1}) and changed.name == "a"
    assert copy.copy(made) == made and copy.deepcopy(made) == made
    with pytest.raises(ValueError):
        dataclasses.replace(made, cached=1)  # as for a dataclass: not an __init__ field


def test_an_outcome_crosses_from_a_worker_whole() -> None:
    """Workers send outcomes to the parent by pickle."""
    from mailpatch._run import Outcome, Status

    outcome = Outcome("a.html", Status.PATCHED, buttons=2, events=("g",), output=b"x")
    assert pickle.loads(pickle.dumps(outcome)) == outcome
    assert pickle.loads(pickle.dumps(outcome)).output == b"x"


def test_a_record_keeps_the_repr_and_eq_written_in_it() -> None:
    @record
    class Named:
        """Named."""

        name: str

        def __repr__(self) -> str:
            return f"<{self.name}>"

    assert repr(Named("x")) == "<x>"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"__annotations__": {"x": "int"}}, id="no-docstring"),
        pytest.param({"__doc__": "d", "__annotations__": {}, "__hash__": lambda s: 1}, id="hash"),
        pytest.param({"__doc__": "d", "__annotations__": {"x": "InitVar[int]"}}, id="initvar"),
        pytest.param(
            {"__doc__": "d", "__annotations__": {"x": "int"}, "x": field(kw_only=True)},
            id="keyword-only",
        ),
        pytest.param(
            {
                "__doc__": "d",
                "__annotations__": {"x": "list[int]"},
                "x": field(init=False, default_factory=list),
            },
            id="factory-outside-init",
        ),
    ],
)
def test_a_record_refuses_what_it_would_silently_get_wrong(body: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        record(type("Bad", (), dict(body)))


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("mailpatch._patch", "PatchOptions"),
        ("mailpatch._patch", "PatchResult"),
        ("mailpatch._patch", "Edit"),
        ("mailpatch._link", "CalendarLink"),
        ("mailpatch._run", "Outcome"),
        ("mailpatch._config", "Config"),
    ],
)
def test_the_records_on_the_patch_path_compile_no_code(module: str, name: str) -> None:
    """dataclass's own methods are compiled from source (their code's file is '<string>');
    a record's are the shared functions of mailpatch._record."""
    cls = getattr(importlib.import_module(module), name)
    for method in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__"):
        code = getattr(cls, method).__code__
        assert code.co_filename.endswith("_record.py"), (name, method)


def test_a_record_shows_its_fields_in_its_signature_as_its_twin_does() -> None:
    """help(), IDEs that introspect, and inspect.signature show what a caller may pass: the
    fields, with their defaults ('<factory>' for a default_factory), not '*args, **kwargs'."""
    assert str(inspect.signature(RECORD)) == str(inspect.signature(TWIN))


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("mailpatch._patch", "PatchOptions"),
        ("mailpatch._patch", "EventRef"),
        ("mailpatch._patch", "Edit"),
        ("mailpatch._link", "CalendarLink"),
    ],
)
def test_a_public_record_s_signature_names_its_fields(module: str, name: str) -> None:
    cls = getattr(importlib.import_module(module), name)
    wanted = [f.name for f in dataclasses.fields(cls) if f.init]
    assert list(inspect.signature(cls).parameters) == wanted


def test_a_record_is_extended_by_a_frozen_dataclass_as_its_twin_is() -> None:
    """dataclass reads __dataclass_params__.frozen to allow a frozen subclass: a record says
    frozen=False there, so a user's @dataclass(frozen=True) subclass is a TypeError."""
    for base in (HASHABLE_TWIN, HASHABLE):
        more = dataclasses.dataclass(frozen=True)(
            type("More", (base,), {"__annotations__": {"extra": "int"}, "extra": 0})
        )
        assert more("a", 1, (), 2).extra == 2
