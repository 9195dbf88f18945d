"""dosing.yaml as a whole: no gaps or overlaps, every citation resolves, every offerable agent
has a table, and no daily dose rises as clearance falls (a property over all CrCl pairs)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cre_advisor.dosing import dose_for
from cre_advisor.knowledge.dosing_tables import DoseRow, load_dosing_tables
from cre_advisor.knowledge.loader import KNOWLEDGE_DIR
from cre_advisor.patient import assess_renal_values

TABLES = load_dosing_tables(KNOWLEDGE_DIR, {"review_status": "submitted"})
KNOWLEDGE: Any = SimpleNamespace(dosing=TABLES, memos=defaultdict(dict))  # what dose_for reads of a Knowledge
VARIANTS = [(agent, name, variant) for agent, table in TABLES.agents.items() for name, variant in table.variants.items()]
RENAL_VARIANTS = [(a, n) for a, n, v in VARIANTS if v.renal_adjusted]


def _read(name: str) -> Any:
    return yaml.safe_load(Path(KNOWLEDGE_DIR, name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(("agent", "name"), RENAL_VARIANTS)
def test_bands_cover_every_whole_clearance_exactly_once(agent: str, name: str) -> None:
    bands = TABLES.agents[agent].variants[name].bands
    for crcl in range(0, 401):
        hits = [row.band for row in bands if row.contains(crcl)]
        assert len(hits) == 1, f"{agent}/{name} at CrCl {crcl}: {hits}"


@pytest.mark.parametrize(("agent", "name"), [(a, n) for a, n, v in VARIANTS if len(v.crrt) > 1])
def test_crrt_rows_cover_effluent_rates_exactly_once(agent: str, name: str) -> None:
    rows = TABLES.agents[agent].variants[name].crrt
    for tenth in range(1, 101):
        hits = [row.band for row in rows if row.contains(tenth / 10)]
        assert len(hits) == 1, f"{agent}/{name} at {tenth / 10} L/h: {hits}"


def _rows(data: Any) -> list[DoseRow]:
    return [row for _, _, v in VARIANTS for row in (*v.bands, *v.crrt, v.hemodialysis) if row is not None]


def test_every_citation_names_a_reference() -> None:
    known = {ref["id"] for ref in _read("references.yaml")["references"]}
    cited = {c for table in TABLES.agents.values() for c in table.citations}
    cited |= {c for row in _rows(TABLES) for c in row.citations}
    for _, _, v in VARIANTS:
        for part in (v.weight, v.loading_formula, v.maintenance_formula, v.alt_unit, v.child_pugh_c):
            cited |= set(part.citations) if part is not None else set()
    missing = sorted(c for c in cited if c.split(":", 1)[0] not in known)
    assert not missing


def test_every_offerable_agent_has_a_dose_table() -> None:
    agents = _read("agents.yaml")["agents"]
    offerable = {agent for agent, row in agents.items() if not row.get("never_for_cre")}
    assert offerable <= set(TABLES.agents), sorted(offerable - set(TABLES.agents))


def test_tables_name_known_agents_only() -> None:
    assert set(TABLES.agents) <= set(_read("agents.yaml")["agents"])


def _daily(agent: str, name: str, crcl: int) -> float | None:
    """mg/day at this clearance (0 when not to be given); None when not comparable."""
    renal = assess_renal_values(measured_crcl_ml_min=crcl, sex="male", height_cm=175, weight_kg=70)
    result = dose_for(agent, renal=renal, variant=name, knowledge=KNOWLEDGE)
    if result.not_recommended:
        return 0.0
    if result.individualise or result.dose_mg is None:
        return None
    return result.dose_mg if result.interval_h is None else result.daily_dose_mg


@settings(max_examples=150, deadline=None)
@given(pair=st.tuples(st.integers(0, 250), st.integers(0, 250)), index=st.integers(0, len(RENAL_VARIANTS) - 1))
def test_daily_dose_never_rises_as_clearance_falls(pair: tuple[int, int], index: int) -> None:
    agent, name = RENAL_VARIANTS[index]
    low, high = sorted(pair)
    at_low, at_high = _daily(agent, name, low), _daily(agent, name, high)
    if at_low is not None and at_high is not None:
        assert at_low <= at_high + 1e-9, f"{agent}/{name}: {at_low} mg/day at {low} > {at_high} at {high}"


@pytest.mark.parametrize(("agent", "name"), RENAL_VARIANTS)
def test_daily_dose_never_rises_on_a_full_sweep(agent: str, name: str) -> None:
    previous: tuple[int, float] | None = None
    for crcl in range(250, -1, -1):
        daily = _daily(agent, name, crcl)
        if daily is None:
            continue
        if previous is not None:
            assert daily <= previous[1] + 1e-9, f"{agent}/{name}: {daily} at {crcl} > {previous[1]} at {previous[0]}"
        previous = (crcl, daily)
