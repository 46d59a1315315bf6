"""A command's options in one place: a frozen dataclass whose fields are the options, each with
its default, its help text and its range (``option``), checked when the spec is made.

The Python API builds a spec from keyword arguments (``Spec.of``), the command line makes its
flags from the fields and builds the same spec from them, and the job takes the spec whole.
Messages name an option as ``{name}`` (see ``convscope.errors``), so each front end spells it
its own way.
"""
from __future__ import annotations

from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any, Callable, Sequence, TypeVar

from convscope.errors import OutOfRangeError, UnknownNameError, closest

SpecType = TypeVar("SpecType", bound="Spec")
Function = TypeVar("Function", bound=Callable[..., Any])


def option(default: Any, help: str | Callable[[], str], *, minimum: float | None = None,
           maximum: float | None = None, below: float | None = None,
           choices: Callable[[], Sequence[str]] | None = None, metavar: str | None = None,
           flag: bool = True) -> Any:
    """A field of a spec.

    Args:
        default: the option's default (a tuple for a list of values).
        help: what the option does, as ``--help`` shows it (or a function that says it, for a
            text made from a registry that can grow).
        minimum: the smallest value allowed (None: any).
        maximum: the largest value allowed (None: any).
        below: a value the option must stay under (None: any).
        choices: gives the values allowed (called when the spec is checked, so a registry can grow).
        metavar: the name of the value in ``--help``.
        flag: whether the command line gives the option a flag of its own from this field
            (False: the front end builds the value itself, as it does a recipe).
    Returns:
        The dataclass field.
    """
    metadata = {"help": help, "minimum": minimum, "maximum": maximum, "below": below, "choices": choices, "metavar": metavar,
                "flag": flag}
    return field(default=default, metadata=metadata)


def help_text(item: Field) -> str:
    """The help text of a spec's option."""
    text = item.metadata["help"]
    return text() if callable(text) else text


def spec_options(spec: type["Spec"] | "Spec") -> list[Field]:
    """The options of a spec, in the order they are declared."""
    return list(fields(spec))


@dataclass(frozen=True)
class Spec:
    """Base of every command's spec: checks each option's range when made."""

    def __post_init__(self) -> None:
        for item in spec_options(self):
            _check(item, getattr(self, item.name))
        self.check()

    def check(self) -> None:
        """Checks what depends on several options (a subclass adds its rules)."""

    @classmethod
    def of(cls: type[SpecType], spec: SpecType | None = None, **options: Any) -> SpecType:
        """The spec from keyword arguments (on top of ``spec``, if given).

        Raises:
            UnknownNameError: an option the command does not take.
            OutOfRangeError: a value out of its range.
        """
        names = [item.name for item in spec_options(cls)]
        for name in options:
            if name not in names:
                near = closest(name, names)
                hint = f"did you mean {', '.join(near)}?" if near else f"it takes {', '.join(names)}"
                raise UnknownNameError(f"unknown option {name!r}: {hint}")
        values = {item.name: getattr(spec, item.name) for item in spec_options(cls)} if spec is not None else {}
        return cls(**{**values, **options})

    def values(self) -> dict[str, Any]:
        """Every option's value, by name."""
        return {item.name: getattr(self, item.name) for item in spec_options(self)}


def _check(item: Field, value: Any) -> None:
    meta = item.metadata
    if value is None or isinstance(value, bool):
        return
    name = item.name
    if meta.get("choices") is not None and isinstance(value, str):  # an object of one's own passes
        allowed = list(meta["choices"]())
        if value not in allowed:
            raise OutOfRangeError(f"unknown {{{name}}} {value!r}: use one of {', '.join(allowed)}", options=[name])
    if meta.get("minimum") is not None and isinstance(value, (int, float)) and value < meta["minimum"]:
        minimum = meta["minimum"]
        rule = "positive" if minimum == 1 and isinstance(value, int) else f"{minimum:g} or more"
        raise OutOfRangeError(f"{{{name}}} must be {rule}, got {value}", options=[name])
    if meta.get("maximum") is not None and isinstance(value, (int, float)) and value > meta["maximum"]:
        raise OutOfRangeError(f"{{{name}}} must be at most {meta['maximum']:g}, got {value}", options=[name])
    if meta.get("below") is not None and isinstance(value, (int, float)) and value >= meta["below"]:
        raise OutOfRangeError(f"{{{name}}} must be below {meta['below']:g}, got {value}", options=[name])


def default_of(spec: type[Spec], name: str) -> Any:
    """The default of option ``name`` of ``spec``."""
    for item in spec_options(spec):
        if item.name == name:
            return None if item.default is MISSING else item.default
    raise KeyError(name)


def takes(spec: type[Spec]) -> Callable[[Function], Function]:
    """A decorator that adds to a function's docstring the options of ``spec`` it takes by
    keyword, with their defaults and help, so that ``help()`` and Jupyter list them."""
    def document(function: Function) -> Function:
        lines = [f"        {item.name} (default {item.default!r}): {help_text(item)}" for item in spec_options(spec)]
        function.__doc__ = f"{function.__doc__}\n    Options ({spec.__name__}):\n" + "\n".join(lines) + "\n"
        return function

    return document
