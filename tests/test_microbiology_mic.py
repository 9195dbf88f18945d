"""MIC strings, comparators against breakpoints, mic_at_most, and what a category means.

Breakpoints used here are typed from EUCAST v16.1 Enterobacterales: meropenem S <= 2, R > 8
(indications other than meningitis); ertapenem S <= 0.5, R > 0.5.
"""

from __future__ import annotations

import pytest

from cre_advisor.knowledge.breakpoint_tables import BreakpointRow
from cre_advisor.microbiology import AgentResult, Mic, categorise, mic_at_most, parse_mic

MEROPENEM = BreakpointRow(agent="meropenem", s_le=2, r_gt=8, citations=("test",))
ERTAPENEM = BreakpointRow(agent="ertapenem", s_le=0.5, r_gt=0.5, citations=("test",))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4", Mic(4.0, "=")),
        (" 0.25 ", Mic(0.25, "=")),
        (".5", Mic(0.5, "=")),
        ("<=0.25", Mic(0.25, "<=")),
        ("≤0.25", Mic(0.25, "<=")),
        (">32", Mic(32.0, ">")),
        (">=16", Mic(16.0, ">=")),
        ("≥16", Mic(16.0, ">=")),
        ("<0.5", Mic(0.5, "<")),
        ("0.5/4", Mic(0.5, "=")),
        ("<=8/4", Mic(8.0, "<=")),
        ("2 mg/L", Mic(2.0, "=")),
        ("=1", Mic(1.0, "=")),
        (2, Mic(2.0, "=")),
        (0.125, Mic(0.125, "=")),
    ],
)
def test_parse_mic_reads_laboratory_strings(text: str | float, expected: Mic) -> None:
    assert parse_mic(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "R", "<=", "0", "-1", "1..2", "4 mg", True, 0, -2.0])
def test_parse_mic_refuses_what_is_not_an_mic(text: object) -> None:
    with pytest.raises(ValueError, match="MIC"):
        parse_mic(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", "S"), ("2", "S"), ("4", "I"), ("8", "I"), ("16", "R"),
        ("<=0.25", "S"),  # at most 0.25: susceptible
        ("<=2", "S"),
        ("<2", "S"),
        ("<=4", None),  # 4 is I, anything below 2 would be S: cannot tell
        ("<4", None),
        (">8", "R"),  # above the R breakpoint
        (">=16", "R"),
        (">=8", None),  # exactly 8 would be I
        (">4", None),  # 8 would be I, 16 R
        (">16", "R"),
    ],
)
def test_comparators_against_meropenem_breakpoints(text: str, expected: str | None) -> None:
    assert categorise(parse_mic(text), MEROPENEM) == expected


@pytest.mark.parametrize(("text", "expected"), [("0.25", "S"), ("0.5", "S"), ("1", "R"), (">0.5", "R"), ("<=1", None)])
def test_comparators_against_a_breakpoint_without_i(text: str, expected: str | None) -> None:
    assert categorise(parse_mic(text), ERTAPENEM) == expected


def _result(mic: str | None, category: str | None = None, scheme: str | None = "EUCAST") -> AgentResult:
    fields = {} if mic is None else {"mic_mg_l": parse_mic(mic).value, "comparator": parse_mic(mic).comparator}
    return AgentResult(agent="meropenem", category=category, source="interpreted", scheme=scheme, **fields)


@pytest.mark.parametrize(
    ("mic", "limit", "expected"),
    [
        ("<=0.25", 1, True),
        (">8", 8, False),
        ("8", 8, True),
        ("1", 1, True),
        ("2", 1, False),
        (">=8", 8, None),
        (">=16", 8, False),
        ("<=4", 1, None),
        (">0.5", 1, None),
        ("<1", 1, True),
    ],
)
def test_mic_at_most(mic: str, limit: float, expected: bool | None) -> None:
    assert mic_at_most(_result(mic), limit) is expected


def test_mic_at_most_is_unknown_without_an_mic() -> None:
    assert mic_at_most(None, 1) is None
    assert mic_at_most(_result(None, "S"), 1) is None


@pytest.mark.parametrize(
    ("category", "scheme", "active", "high_exposure"),
    [
        ("S", "EUCAST", True, False),
        ("I", "EUCAST", True, True),  # susceptible, increased exposure
        ("R", "EUCAST", False, False),
        ("S", "CLSI", True, False),
        ("I", "CLSI", False, False),  # CLSI intermediate is not active
        ("R", "CLSI", False, False),
        (None, "EUCAST", None, False),
        ("I", None, None, False),  # whose I is unknown: activity unknown
    ],
)
def test_what_a_category_means(category: str | None, scheme: str | None, active: bool | None, high_exposure: bool) -> None:
    result = _result("4", category, scheme)
    assert result.active is active
    assert result.high_exposure is high_exposure


def test_agent_result_is_json_able_and_keeps_the_mic() -> None:
    result = _result(">8", "R")
    assert result.mic == Mic(8.0, ">")
    dumped = result.model_dump(mode="json")
    assert dumped["mic_mg_l"] == 8.0 and dumped["comparator"] == ">" and dumped["category"] == "R"
