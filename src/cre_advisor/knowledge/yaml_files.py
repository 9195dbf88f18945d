"""Reading YAML safely: fast for the knowledge base the tool ships, defensively for files from outside.

Safe loading only: these files are data, never code. Two readers, because the two kinds of file
need different things:

- `load_knowledge_yaml` reads the knowledge base's own files (written and reviewed with the
  project). It uses libyaml's C parser (`CSafeLoader`), several times faster than the pure-Python
  one: most of the start-up of a command like `cre-advisor recommend`.
- `load_yaml` reads everything else (a laboratory's breakpoint table, the CDS configuration, a
  hospital's code maps, question sets). It uses the pure-Python parser, which turns absurd
  nesting into a RecursionError the caller reports in one line; libyaml recurses in C and a file
  nested 100,000 deep crashes the process instead.
"""

from __future__ import annotations

from typing import IO, Any

import yaml

try:
    _KNOWLEDGE_LOADER: type[yaml.SafeLoader] = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml: the same data, read more slowly
    _KNOWLEDGE_LOADER = yaml.SafeLoader

Stream = IO[str] | IO[bytes] | str | bytes


def load_knowledge_yaml(stream: Stream) -> Any:
    """A knowledge-base file shipped with the tool (trusted shape, read on every start)."""
    return yaml.load(stream, Loader=_KNOWLEDGE_LOADER)  # noqa: S506 - a safe loader, chosen above


def load_yaml(stream: Stream) -> Any:
    """A YAML file from outside the knowledge base, with only the standard safe tags."""
    return yaml.load(stream, Loader=yaml.SafeLoader)  # noqa: S506 - the safe loader
