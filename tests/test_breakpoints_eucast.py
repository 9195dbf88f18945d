"""The shipped EUCAST v16.1 Enterobacterales table: every row at its breakpoint and one doubling
dilution either side, the organism- and site-specific rows, and the rows with no breakpoint.

Every expected category below was typed from the EUCAST v16.1 Enterobacterales breakpoints
(S <= first number, R > second number), not produced by the code under test.
"""

from __future__ import annotations

import itertools

import pytest
import yaml

from cre_advisor.case import Site
from cre_advisor.knowledge.breakpoint_tables import BreakpointTable
from cre_advisor.knowledge.loader import KNOWLEDGE_DIR, Knowledge, default_knowledge
from cre_advisor.microbiology import interpret_mic, parse_mic

KP = "Klebsiella pneumoniae"
EC = "Escherichia coli"


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return default_knowledge()


@pytest.fixture(scope="module")
def eucast(knowledge: Knowledge) -> BreakpointTable:
    table = knowledge.breakpoint_tables.table("EUCAST-2026")
    assert table is not None
    return table


# (agent, organism, site, [(MIC, expected category), ...]) - breakpoint and one dilution either side
ROWS: list[tuple[str, str, str | None, list[tuple[float, str]]]] = [
    # S <= 8, R > 8
    ("piperacillin-tazobactam", KP, None, [(4, "S"), (8, "S"), (16, "R")]),
    # S <= 1, R > 2 (other than meningitis)
    ("ceftriaxone", KP, "bloodstream", [(0.5, "S"), (1, "S"), (2, "I"), (4, "R")]),
    # S <= 1, R > 1 (meningitis)
    ("ceftriaxone", KP, "cns", [(0.5, "S"), (1, "S"), (2, "R")]),
    # S <= 1, R > 4
    ("ceftazidime", KP, None, [(0.5, "S"), (1, "S"), (2, "I"), (4, "I"), (8, "R")]),
    ("cefepime", KP, None, [(0.5, "S"), (1, "S"), (2, "I"), (4, "I"), (8, "R")]),
    # S <= 8, R > 8
    ("ceftazidime-avibactam", KP, None, [(4, "S"), (8, "S"), (16, "R")]),
    # S <= 2, R > 2
    ("ceftolozane-tazobactam", KP, None, [(1, "S"), (2, "S"), (4, "R")]),
    ("cefiderocol", KP, None, [(1, "S"), (2, "S"), (4, "R")]),
    # S <= 2, R > 8 (other than meningitis)
    ("meropenem", KP, "bloodstream", [(1, "S"), (2, "S"), (4, "I"), (8, "I"), (16, "R")]),
    ("meropenem", KP, None, [(2, "S"), (4, "I"), (16, "R")]),
    # S <= 2, R > 2 (meningitis)
    ("meropenem", KP, "cns", [(1, "S"), (2, "S"), (4, "R")]),
    # S <= 2, R > 4 (Enterobacterales except Morganellaceae)
    ("imipenem-cilastatin", KP, None, [(1, "S"), (2, "S"), (4, "I"), (8, "R")]),
    # Morganellaceae: S <= 0.001 (no S in practice), R > 4
    ("imipenem-cilastatin", "Morganella morganii", None, [(0.0005, "S"), (0.001, "S"), (0.002, "I"), (4, "I"), (8, "R")]),
    ("imipenem-cilastatin", "Proteus mirabilis", None, [(0.5, "I"), (4, "I"), (8, "R")]),
    # S <= 0.5, R > 0.5
    ("ertapenem", KP, None, [(0.25, "S"), (0.5, "S"), (1, "R")]),
    # S <= 8, R > 8
    ("meropenem-vaborbactam", KP, None, [(4, "S"), (8, "S"), (16, "R")]),
    # S <= 2, R > 2 (except Morganellaceae)
    ("imipenem-cilastatin-relebactam", KP, None, [(1, "S"), (2, "S"), (4, "R")]),
    # S <= 1, R > 4
    ("aztreonam", KP, None, [(0.5, "S"), (1, "S"), (2, "I"), (4, "I"), (8, "R")]),
    # S <= 4, R > 4
    ("aztreonam-avibactam", KP, None, [(2, "S"), (4, "S"), (8, "R")]),
    # S <= 0.25, R > 0.5 (other than meningitis)
    ("ciprofloxacin", KP, "bloodstream", [(0.125, "S"), (0.25, "S"), (0.5, "I"), (1, "R")]),
    # S <= 0.125, R > 0.125 (meningitis)
    ("ciprofloxacin", KP, "cns", [(0.064, "S"), (0.125, "S"), (0.25, "R")]),
    # S <= 0.5, R > 1
    ("levofloxacin", KP, None, [(0.25, "S"), (0.5, "S"), (1, "I"), (2, "R")]),
    # aminoglycosides, infections originating from the urinary tract
    ("amikacin", KP, "urinary_complicated", [(4, "S"), (8, "S"), (16, "R")]),
    ("amikacin", KP, "cystitis", [(8, "S"), (16, "R")]),
    ("gentamicin", KP, "urinary_complicated", [(1, "S"), (2, "S"), (4, "R")]),
    ("tobramycin", KP, "cystitis", [(1, "S"), (2, "S"), (4, "R")]),
    # tigecycline: E. coli and C. koseri, S <= 0.5, R > 0.5
    ("tigecycline", EC, None, [(0.25, "S"), (0.5, "S"), (1, "R")]),
    ("tigecycline", "Citrobacter koseri", None, [(0.25, "S"), (0.5, "S"), (1, "R")]),
    # eravacycline: E. coli, S <= 0.5, R > 0.5
    ("eravacycline", EC, None, [(0.25, "S"), (0.5, "S"), (1, "R")]),
    # colistin: bracketed (2)/(2)
    ("colistin", KP, None, [(1, "S"), (2, "S"), (4, "R")]),
    # fosfomycin, E. coli: iv for urinary-origin infections, oral for uncomplicated UTI, both 8/8
    ("fosfomycin", EC, "urinary_complicated", [(4, "S"), (8, "S"), (16, "R")]),
    ("fosfomycin", EC, "cystitis", [(4, "S"), (8, "S"), (16, "R")]),
    # nitrofurantoin, E. coli, uncomplicated UTI: S <= 64, R > 64
    ("nitrofurantoin", EC, "cystitis", [(32, "S"), (64, "S"), (128, "R")]),
    # trimethoprim-sulfamethoxazole: S <= 0.5, R > 0.5 (trimethoprim concentration)
    ("trimethoprim-sulfamethoxazole", KP, None, [(0.25, "S"), (0.5, "S"), (1, "R")]),
]


@pytest.mark.parametrize(
    ("agent", "organism", "site", "mic", "expected"),
    [(a, o, s, m, e) for a, o, s, points in ROWS for m, e in points],
)
def test_breakpoint_and_one_dilution_either_side(
    knowledge: Knowledge, eucast: BreakpointTable, agent: str, organism: str, site: str | None, mic: float, expected: str
) -> None:
    found = interpret_mic(eucast, agent, parse_mic(mic), knowledge.organism(organism), site)
    assert found.category == expected, found.note
    assert found.row is not None and found.citations


@pytest.mark.parametrize(
    ("agent", "organism", "site", "reason"),
    [
        ("amikacin", KP, "bloodstream", "urinary tract only"),
        ("gentamicin", KP, "pneumonia", "urinary tract only"),
        ("tobramycin", KP, None, "urinary tract only"),
        ("tigecycline", KP, "intra_abdominal", "E. coli and C. koseri only"),
        ("tigecycline", "Serratia marcescens", None, "insufficient in Serratia"),
        ("eravacycline", KP, None, "E. coli only"),
        ("fosfomycin", KP, "cystitis", "E. coli only"),
        ("fosfomycin", EC, "bloodstream", "urinary tract"),
        ("nitrofurantoin", KP, "cystitis", "E. coli only"),
        ("nitrofurantoin", EC, "urinary_complicated", "uncomplicated UTI only"),
        ("imipenem-cilastatin-relebactam", "Morganella morganii", None, "except Morganellaceae"),
        ("imipenem-cilastatin-relebactam", "Providencia stuartii", None, "except Morganellaceae"),
        ("polymyxin-b", KP, None, "not listed"),
        ("plazomicin", KP, "urinary_complicated", "not listed"),
        ("minocycline", KP, None, "does not recommend"),
        ("metronidazole", KP, None, "does not recommend"),
        ("ciprofloxacin", "Salmonella enterica", None, "Salmonella"),
    ],
)
def test_no_breakpoint_with_the_reason(
    knowledge: Knowledge, eucast: BreakpointTable, agent: str, organism: str, site: str | None, reason: str
) -> None:
    found = interpret_mic(eucast, agent, parse_mic("0.5"), knowledge.organism(organism), site)
    assert found.category is None
    assert reason in found.note


def test_site_picks_the_row(knowledge: Knowledge, eucast: BreakpointTable) -> None:
    kp = knowledge.organism(KP)
    # MIC 4: I outside meningitis (R > 8), R in meningitis (R > 2)
    assert interpret_mic(eucast, "meropenem", parse_mic(4), kp, "bloodstream").category == "I"
    assert interpret_mic(eucast, "meropenem", parse_mic(4), kp, "cns").category == "R"
    # amikacin 4: S for a urinary source, no breakpoint for bacteraemia
    assert interpret_mic(eucast, "amikacin", parse_mic(4), kp, "urinary_complicated").category == "S"
    assert interpret_mic(eucast, "amikacin", parse_mic(4), kp, "bloodstream").category is None


def test_organism_picks_the_row(knowledge: Knowledge, eucast: BreakpointTable) -> None:
    # imipenem 1: S in Klebsiella, I in Proteus (Morganellaceae row has no S category)
    assert interpret_mic(eucast, "imipenem-cilastatin", parse_mic(1), knowledge.organism(KP), None).category == "S"
    assert interpret_mic(
        eucast, "imipenem-cilastatin", parse_mic(1), knowledge.organism("Proteus mirabilis"), None
    ).category == "I"
    # tigecycline 0.25: S in E. coli, no breakpoint in Klebsiella
    assert interpret_mic(eucast, "tigecycline", parse_mic(0.25), knowledge.organism(EC), None).category == "S"
    assert interpret_mic(eucast, "tigecycline", parse_mic(0.25), knowledge.organism(KP), None).category is None


def test_the_note_names_table_version_and_row(knowledge: Knowledge, eucast: BreakpointTable) -> None:
    found = interpret_mic(eucast, "meropenem", parse_mic("4"), knowledge.organism(KP), "bloodstream")
    assert "EUCAST-2026 (v16.1)" in found.note
    assert "indications other than meningitis" in found.note
    assert "S <= 2, R > 8" in found.note


def test_colistin_row_is_bracketed(knowledge: Knowledge, eucast: BreakpointTable) -> None:
    found = interpret_mic(eucast, "colistin", parse_mic(1), knowledge.organism(KP), None)
    assert found.row is not None and found.row.bracketed
    assert "bracketed" in found.note


def test_every_contract_agent_has_a_row(knowledge: Knowledge, eucast: BreakpointTable) -> None:
    missing = [agent for agent in knowledge.agents if not eucast.rows_for(agent)]
    assert missing == []


def test_exactly_one_row_fits_every_organism_agent_and_site(knowledge: Knowledge, eucast: BreakpointTable) -> None:
    """select() raises when two rows fit; None would mean a silent gap in the table."""
    with (KNOWLEDGE_DIR / "organisms.yaml").open(encoding="utf-8") as handle:
        names = [row["name"] for row in yaml.safe_load(handle)["enterobacterales"]]
    sites = [None, *(s.value for s in Site)]
    for name, agent, site in itertools.product(names, knowledge.agents, sites):
        organism = knowledge.organism(name)
        found = eucast.select(agent, (organism.name, organism.genus, organism.family), site)
        assert found is not None, (name, agent, site)


def test_every_citation_names_a_known_reference(knowledge: Knowledge, eucast: BreakpointTable) -> None:
    for row in eucast.rows:
        for citation in row.citations:
            assert citation.split(":")[0] == "eucast-bp-16.1", citation
    assert "eucast-bp-16.1" in knowledge.references


def test_table_names_resolve(knowledge: Knowledge) -> None:
    tables = knowledge.breakpoint_tables
    assert tables.resolve("eucast") == "EUCAST-2026"
    assert tables.resolve("EUCAST-16.1") == "EUCAST-2026"
    assert tables.resolve("clsi-2025") == "CLSI-2025"
    assert tables.scheme("EUCAST-2026") == "EUCAST"
    with pytest.raises(ValueError, match="unknown breakpoint table 'EUCAST-1999'; known: CLSI-2025, EUCAST-2026"):
        tables.resolve("EUCAST-1999")
