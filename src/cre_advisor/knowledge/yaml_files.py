"""Reading the YAML files the tool ships and the ones an operator writes, safely and fast.

Safe loading only: these files are data, never code. libyaml's C parser (`CSafeLoader`) reads
the knowledge base several times faster than the pure-Python one, which is most of the start-up
of a command like `cre-advisor recommend`; where PyYAML was built without libyaml, the pure
loader gives the same result.
"""

from __future__ import annotations

from typing import IO, Any

import yaml

try:
    _SAFE_LOADER: type[yaml.SafeLoader] = yaml.CSafeLoader
except AttributeError:  # PyYAML without libyaml
    _SAFE_LOADER = yaml.SafeLoader


def load_yaml(stream: IO[str] | IO[bytes] | str | bytes) -> Any:
    """The data of one YAML document, with only the standard safe tags."""
    return yaml.load(stream, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader, chosen above
