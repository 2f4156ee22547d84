"""Frozen dataclasses that cost nothing to define: ``@record`` for ``@dataclass(frozen=True, slots=True)``.

A frozen dataclass generates and compiles six methods when its module is imported, about
1 ms a class: a third of kb_core's cold start for the ~30 classes it defines. A record is
a dataclass too (``dataclasses.fields``, ``replace``, ``asdict``, ``is_dataclass`` and
``match`` work), made by ``dataclass(init=False, repr=False, eq=False, slots=True)``,
which generates nothing. What a frozen dataclass generates comes from :class:`Record`
instead: comparison, hashing, ``repr``, refusing assignment
(:class:`dataclasses.FrozenInstanceError`), copying and pickling work by field name
exactly as the generated methods do, and ``__init__`` is generated the first time an
instance is made (classes only read from the cache never need one). The one visible
difference: ``__dataclass_params__`` says ``frozen=False`` (the class itself refuses
assignment). ``InitVar`` and ``kw_only`` fields are not supported (none is used).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, Field, FrozenInstanceError, dataclass, field, fields
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform

_set_field = object.__setattr__  # how __init__ sets a field: the class refuses assignment
_RecordType = TypeVar("_RecordType", bound=type)


class _Factory:
    """The default shown for a field with a default factory (as dataclasses shows it)."""

    def __repr__(self) -> str:
        return "<factory>"


_HAS_FACTORY = _Factory()


def _getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving the values of ``names`` as a tuple (attrgetter returns a bare
    value for a single name)."""
    if len(names) > 1:
        return attrgetter(*names)
    return lambda value: tuple(getattr(value, name) for name in names)


class Record:
    """Base of the ``@record`` classes: the methods a frozen dataclass would generate."""

    __slots__ = ()
    # Set by record(): the fields (all, shown in repr, compared) and getters of their values.
    _fields_all: tuple[str, ...] = ()
    _fields_shown: tuple[str, ...] = ()
    _values_all: Callable[[Any], tuple[Any, ...]]
    _values_shown: Callable[[Any], tuple[Any, ...]]
    _values_compared: Callable[[Any], tuple[Any, ...]]
    _values_hashed: Callable[[Any], tuple[Any, ...]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Only until the class's own __init__ is generated, on its first instance.
        _generate_init(type(self))(self, *args, **kwargs)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values_compared(self) == other._values_compared(other)  # type: ignore[attr-defined]
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values_hashed(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(self._fields_shown, self._values_shown(self)))
        return f"{type(self).__qualname__}({shown})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Every field, as a frozen dataclass's pickled state holds them (init=False ones too).
        return _rebuilt, (type(self), self._values_all(self))


def _rebuilt(cls: type[Record], values: tuple[Any, ...]) -> Record:
    """An instance of ``cls`` with ``values`` for its fields, without calling __init__."""
    made = object.__new__(cls)
    for name, value in zip(cls._fields_all, values):
        _set_field(made, name, value)
    return made


class _InitSignature:
    """``inspect.signature`` of a record class, before and after its __init__ exists."""

    def __get__(self, instance: Any, owner: type) -> Any:
        import inspect

        init = owner.__dict__["__init__"] if "__init__" in owner.__dict__ else _generate_init(owner)
        signature = inspect.signature(init)
        return signature.replace(parameters=list(signature.parameters.values())[1:])


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))  # type checkers: a frozen dataclass
def record(cls: _RecordType) -> _RecordType:
    """Declare ``cls`` (annotated fields, as for a dataclass) a frozen, slotted dataclass,
    generating no method now. Written where ``@dataclass(frozen=True, slots=True)`` was."""
    if not issubclass(cls, Record):
        # Made again with Record among its bases, as dataclass(slots=True) makes a class again.
        body = {k: v for k, v in cls.__dict__.items() if k not in ("__dict__", "__weakref__")}
        body["__qualname__"] = cls.__qualname__
        metaclass: Any = type(cls)
        cls = metaclass(cls.__name__, (*(b for b in cls.__bases__ if b is not object), Record), body)
    undocumented = cls.__doc__ is None
    if undocumented:
        cls.__doc__ = " "  # not empty: dataclass would build one with inspect.signature (slow); made below
    made: Any = dataclass(init=False, repr=False, eq=False, slots=True)(cls)
    every = fields(made)
    _check_order(made, every)
    made._fields_all = tuple(f.name for f in every)
    made._fields_shown = tuple(f.name for f in every if f.repr)
    made._values_all = _getter(made._fields_all)
    made._values_shown = _getter(made._fields_shown)
    made._values_compared = _getter(tuple(f.name for f in every if f.compare))
    made._values_hashed = _getter(tuple(f.name for f in every if (f.compare if f.hash is None else f.hash)))
    made.__signature__ = _InitSignature()
    if undocumented:
        made.__doc__ = made.__name__ + _signature_text(every)
    return made  # type: ignore[no-any-return]


def _check_order(cls: type, every: tuple[Field[Any], ...]) -> None:
    """The class-definition errors a dataclass reports for its __init__, reported now."""
    defaulted = None
    for f in every:
        if f.kw_only is True:
            raise TypeError(f"{cls.__name__}.{f.name}: a record has no keyword-only fields")
        if not f.init:
            continue
        if f.default is not MISSING or f.default_factory is not MISSING:
            defaulted = f.name
        elif defaulted is not None:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")


def _signature_text(every: tuple[Field[Any], ...]) -> str:
    """``(name: 'type' = default, ...)``, as the docstring a dataclass writes."""
    shown = []
    for f in every:
        if not f.init:
            continue
        text = f"{f.name}: {f.type!r}" if isinstance(f.type, str) else f"{f.name}: {getattr(f.type, '__qualname__', f.type)}"
        if f.default is not MISSING:
            text += f" = {f.default!r}"
        elif f.default_factory is not MISSING:
            text += " = <factory>"
        shown.append(text)
    return f"({', '.join(shown)})"


def _generate_init(cls: type) -> Callable[..., None]:
    """Compile ``cls.__init__`` as dataclasses would write it (defaults, default factories,
    fields without init, ``__post_init__``), install it and return it."""
    parameters, body = ["self"], []
    namespace: dict[str, Any] = {"_set_field": _set_field, "_HAS_FACTORY": _HAS_FACTORY, "MISSING": MISSING}
    for index, f in enumerate(fields(cls)):
        namespace[f"_type_{index}"] = f.type
        if f.default_factory is not MISSING:
            namespace[f"_factory_{index}"] = f.default_factory
            if f.init:
                parameters.append(f"{f.name}: _type_{index} = _HAS_FACTORY")
                body.append(f"_set_field(self, {f.name!r}, _factory_{index}() if {f.name} is _HAS_FACTORY else {f.name})")
            else:
                body.append(f"_set_field(self, {f.name!r}, _factory_{index}())")
        elif f.init:
            if f.default is not MISSING:
                namespace[f"_default_{index}"] = f.default
                parameters.append(f"{f.name}: _type_{index} = _default_{index}")
            else:
                parameters.append(f"{f.name}: _type_{index}")
            body.append(f"_set_field(self, {f.name!r}, {f.name})")
        elif f.default is not MISSING:  # not in __init__, but set by it (a slot has no class default)
            namespace[f"_default_{index}"] = f.default
            body.append(f"_set_field(self, {f.name!r}, _default_{index})")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    source = f"def __init__({', '.join(parameters)}) -> None:\n" + "".join(f"    {line}\n" for line in body or ["pass"])
    exec(compile(source, f"<record {cls.__qualname__}.__init__>", "exec", dont_inherit=True), namespace)  # noqa: S102 - field names only
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    type.__setattr__(cls, "__init__", init)
    return init
