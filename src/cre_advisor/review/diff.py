"""What changed in an item between two versions, field by field, for the reviewer to read.

Payloads are flattened to paths (`variants.default.bands[2].dose_mg`) so a changed dose shows
as one line with its old and new value instead of a wall of JSON.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

Change = Literal["added", "removed", "changed"]


class FieldChange(BaseModel):
    path: str
    change: Change
    before: Any = None
    after: Any = None


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf values of a JSON value by path; empty lists and objects are leaves too."""
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key in sorted(value):
            flat.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(value, list) and value:
        flat = {}
        for index, element in enumerate(value):
            flat.update(flatten(element, f"{prefix}[{index}]"))
        return flat
    return {prefix: value}


def diff(before: Any, after: Any) -> list[FieldChange]:
    """Field changes from `before` to `after`: changed and added fields in the new order, then removed ones."""
    old, new = flatten(before), flatten(after)
    changes: list[FieldChange] = []
    for path, value in new.items():
        if path not in old:
            changes.append(FieldChange(path=path, change="added", after=value))
        elif old[path] != value or type(old[path]) is not type(value):
            changes.append(FieldChange(path=path, change="changed", before=old[path], after=value))
    changes.extend(
        FieldChange(path=path, change="removed", before=value) for path, value in old.items() if path not in new
    )
    return changes
