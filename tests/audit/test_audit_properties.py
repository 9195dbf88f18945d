"""Properties of the verdict over generated cases (tests/strategies.py): one verdict always, the never
list always wins over what follows it, and prescribing what the plan offers, at its doses, is concordant."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from cre_advisor.audit.episodes import Prescription
from cre_advisor.audit.verdict import VERDICTS, judge
from cre_advisor.engine import recommend
from cre_advisor.knowledge.loader import default_knowledge
from strategies import AGENTS, cases

NEVER = frozenset(a for a, info in default_knowledge().agents.items() if info.never_for_cre)
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

prescriptions = st.lists(
    st.builds(Prescription, agent=st.sampled_from(AGENTS),
              dose_mg=st.one_of(st.none(), st.sampled_from([100.0, 500.0, 1000.0, 2000.0, 4000.0])),
              interval_h=st.one_of(st.none(), st.sampled_from([6.0, 8.0, 12.0, 24.0]))),
    max_size=3,
)


@SETTINGS
@given(case=cases(), prescribed=prescriptions)
def test_exactly_one_verdict_and_the_never_list_wins(case: dict[str, Any], prescribed: list[Prescription]) -> None:
    found = judge(case, prescribed, default_knowledge())
    note(str(found))
    assert found.verdict in VERDICTS
    assert found.reasons or found.verdict in ("concordant", "concordant_alternative")
    if not prescribed:
        assert found.verdict == "not_assessable"
    elif NEVER & {p.agent for p in prescribed}:
        assert found.verdict == "never_for_cre"
    else:
        assert found.verdict != "never_for_cre"


@SETTINGS
@given(case=cases(), pick=st.integers(0, 10))
def test_an_offered_option_at_the_plans_dose_is_concordant(case: dict[str, Any], pick: int) -> None:
    plan = recommend(case)
    if not plan.options:
        return
    option = plan.options[pick % len(plan.options)]
    prescribed = [Prescription(agent=i.agent, dose_mg=i.dose_mg, interval_h=i.interval_h) for i in option.regimen]
    found = judge(case, prescribed, default_knowledge())
    note(f"{option.tier} {[i.agent for i in option.regimen]}: {found}")
    expected = {"concordant"} if option.tier == "preferred" else {"concordant", "concordant_alternative"}
    assert found.verdict in expected
