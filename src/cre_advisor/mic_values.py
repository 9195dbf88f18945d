"""Reading an MIC as a laboratory writes it: shared by the input models and the microbiology step.

MIC parsing is input validation (the case refuses an unreadable MIC before anything is
interpreted), and interpretation needs the same parsed value; keeping it here lets `case` and
`microbiology` both use it without importing each other.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

MIC_MAX_MG_L = 10_000  # far above any dilution a laboratory reports; refuses absurd numbers cleanly

_MIC = re.compile(r"^\s*(<=|>=|<|>|=|≤|≥)?\s*(\d+(?:\.\d+)?|\.\d+)\s*(?:/\s*\d+(?:\.\d+)?)?\s*(?:mg/l)?\s*$", re.I)
_COMPARATORS = {"≤": "<=", "≥": ">=", None: "="}


@dataclass(frozen=True)
class Mic:
    value: float
    comparator: str = "="


def parse_mic(text: str | float) -> Mic:
    """Read an MIC as laboratories write it ("<=0.25", ">32", "0.5/4"); raise ValueError otherwise.

    For a combination written "0.5/4" the first number is the MIC: breakpoints of
    combinations are stated for the first agent at a fixed partner concentration.
    """
    if isinstance(text, bool):
        raise ValueError("an MIC is a number of mg/L, not true/false")
    if isinstance(text, (int, float)):
        if not (isinstance(text, int) or math.isfinite(text)) or not 0 < text <= MIC_MAX_MG_L:
            raise ValueError(f"cannot read MIC {text}: an MIC is a positive number of mg/L, at most {MIC_MAX_MG_L}")
        return Mic(float(text))
    match = _MIC.match(text)
    if match is None or not 0 < float(match.group(2)) <= MIC_MAX_MG_L:
        raise ValueError(f"cannot read MIC '{text}': use a number of mg/L, optionally with <=, <, >, >=")
    return Mic(float(match.group(2)), _COMPARATORS.get(match.group(1), match.group(1)))


def format_mic(mic: Mic) -> str:
    value = f"{mic.value:g}"
    return value if mic.comparator == "=" else f"{mic.comparator}{value}"
