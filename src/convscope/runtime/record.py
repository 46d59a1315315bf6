"""A job's result as a typed record: a dataclass whose fields are the keys of the JSON file the
job writes, in the same order, so that ``to_json`` gives the file's content unchanged and
``from_json`` reads a folder written before (or refuses it with one line).

A field made with ``optional()`` is left out of the JSON while it is None (a key the job adds
only sometimes); ``optional(present_with="name")`` ties a field to another: its key is written,
even as null, exactly when that field is set. A field whose type is a record, or a list of
records, is read and written as one.
"""
from __future__ import annotations

import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, TypeVar

from convscope.errors import ConvscopeError

RecordType = TypeVar("RecordType", bound="Record")


class RecordError(ConvscopeError):
    """A result file this version of convscope cannot read."""


def optional(present_with: str | None = None) -> Any:
    """A field whose key the JSON holds only sometimes.

    Args:
        present_with: the field whose being set decides whether this key is written (None:
            this field's own value: written when it is not None).
    Returns:
        The dataclass field (default None).
    """
    return field(default=None, metadata={"optional": True, "present_with": present_with})


def _record_type(hint: Any) -> tuple[type["Record"] | None, bool]:
    """The record class a field holds, and whether it holds a list of them."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next((arg for arg in typing.get_args(hint) if arg is not type(None)), hint)
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint) or (None,)
        return (item, True) if isinstance(item, type) and issubclass(item, Record) else (None, False)
    return (hint, False) if isinstance(hint, type) and issubclass(hint, Record) else (None, False)


@dataclass
class Record:
    """Base of the typed results; see the module docstring."""

    def to_json(self) -> dict[str, Any]:
        """The record as the JSON file holds it."""
        data: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.metadata.get("optional"):
                anchor = item.metadata.get("present_with")
                if (getattr(self, anchor) if anchor else value) is None:
                    continue
            data[item.name] = _plain(value)
        return data

    @classmethod
    def from_json(cls: type[RecordType], data: dict[str, Any], source: str = "the folder") -> RecordType:
        """The record of a JSON file's content.

        Args:
            data: the file's content.
            source: the file, as the error names it.
        Returns:
            The record.
        Raises:
            RecordError: a key the record needs is missing (a file of another version).
        """
        if not isinstance(data, dict):
            raise RecordError(f"{source} is not a {cls.__name__} file: rerun the command that wrote it")
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for item in fields(cls):
            if item.name not in data:
                if item.default is MISSING and item.default_factory is MISSING:
                    raise RecordError(f"{source} lacks {item.name!r}: it was written by another version of "
                                      "convscope; rerun the command into a new folder")
                continue
            kind, many = _record_type(hints[item.name])
            value = data[item.name]
            if kind is not None and value is not None:
                value = [kind.from_json(v, source) for v in value] if many else kind.from_json(value, source)
            values[item.name] = value
        return cls(**values)


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_json()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
