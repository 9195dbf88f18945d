"""Clinical vignettes: each file in tests/cases/ is one SPEC rule seen from one patient.

The expectations in the files were written by hand from docs/clinical/SPEC.md and
DOSING.md; none comes from running the engine. A vignette holds:

  title, rule ("SPEC 3 KPC preferred"), fires (true: the rule acts on this case; false: the
  paired case where it must not), case (the contract Case JSON), expect (below).

Keys of `expect` (agent names are contract identifiers; "an option's agents" means the set of
its regimen items' agents; metronidazole is not counted by *_agents counts):
  top_regimen_any_of        [[agent, ...], ...]  rank-1 option's agents equal one of these sets
  top_includes_any          [agent, ...]         rank-1 option contains at least one of these
  top_min_agents / top_max_agents  n             size of rank-1 option, metronidazole not counted
  tier_of_top               preferred | alternative | last_resort
  some_option_is            [[agent, ...], ...]  each set is exactly some option's agents
  no_option_equals          [[agent, ...], ...]  no option has exactly these agents
  no_option_contains_both   [[a, b], ...]        no option contains both a and b
  must_include_agents       [agent, ...]         each appears in at least one option
  must_not_offer            [agent, ...]         none appears in any option
  alone_when_offered        [agent, ...]         an option containing one of these holds nothing
                                                 else except metronidazole (no added combination)
  requires_with             {agent: companion}   every option containing agent also has companion
  rank_before               [[set_a, set_b], ...] option set_a exists; option set_b, if listed,
                                                 ranks after it
  option_tier               [{agents: [...], tier: t}]  the option with exactly these agents
                                                 exists and has tier t
  agent_tier                {agent: tier}        every option containing agent has this tier
  citations_for             {agent: [ref-id]}    every option containing agent cites each ref-id
                                                 (option or item citations, "ref-id" or "ref-id:...")
  cautions_for              {agent: [word]}      every option containing agent has cautions
                                                 mentioning each word
  avoid_includes            [agent, ...]         each is named in some `avoid` entry
  avoid_excludes            [agent, ...]         none is named in any `avoid` entry
  avoid_cites               {agent: [ref-id]}    every avoid entry naming agent cites each ref-id
  mechanism_class, mechanism_group, basis        equal to the Recommendation's mechanism fields
  enzymes                   [enzyme, ...]        mechanism.enzymes as a set
  risk_score, risk_category                      INCREMENT-CPE score and category
  crcl                      {value, tol}         renal.crcl_ml_min within tol
  renal_method, weight_basis                     renal.method, renal.weight_basis
  dose_of                   {agent: {dose_mg, interval_h, infusion_h, loading_dose_mg}}
                                                 the agent is offered and every regimen item of it
                                                 has these values (numbers within 1 %, null = null)
  dose_range_if_offered     {agent: {field: [low, high]}}  every regimen item of the agent, if it is
                                                 offered, has each field within [low, high]
  min_options               n        at least n options (default 1; 0 where SPEC allows no regimen)
  warnings_mention          [word]   in warnings or any option's cautions
  warnings_not_mention      [word]   in neither
  monitoring_mention        [word]   in monitoring
  missing_data_mention      [word]   in missing_data
  missing_data_not_mention  [word]   not in missing_data
  mentions                  [word]   anywhere a reader sees text: mechanism explanation, renal
                                     flags, options (rationale, cautions, item dose/notes/adjusted_for),
                                     avoid reasons, warnings, monitoring, missing_data
  raises_field              "patient.weight_kg"  recommend() refuses the case; the message names
                                                 the field
  raises_mentions           [word]   ... and mentions each word
A "word" matches case-insensitively as a substring; "a|b" means either.
Every vignette that does not raise must also give ranks 1..n, options that cite a source,
review status pending_review and a disclaimer.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

CASES_DIR = Path(__file__).parent / "cases"
CASE_FILES = sorted(CASES_DIR.glob("*.yaml"))
NOT_COUNTED = {"metronidazole"}

KNOWN_KEYS = {
    "top_regimen_any_of", "top_includes_any", "top_min_agents", "top_max_agents", "tier_of_top",
    "some_option_is", "no_option_equals", "no_option_contains_both", "must_include_agents",
    "must_not_offer", "alone_when_offered", "requires_with", "rank_before", "option_tier",
    "agent_tier", "citations_for", "cautions_for", "avoid_includes", "avoid_excludes", "avoid_cites", "mechanism_class",
    "mechanism_group", "basis", "enzymes", "risk_score", "risk_category", "crcl", "renal_method",
    "weight_basis", "dose_of", "dose_range_if_offered", "min_options", "warnings_mention", "warnings_not_mention", "monitoring_mention",
    "missing_data_mention", "missing_data_not_mention", "mentions", "raises_field", "raises_mentions",
}


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _has(text: str, word: str) -> bool:
    low = text.lower()
    return any(alt.strip().lower() in low for alt in word.split("|"))


def _agents(option: dict[str, Any]) -> frozenset[str]:
    return frozenset(item["agent"] for item in option["regimen"])


def _counted(agents: frozenset[str]) -> int:
    return len(agents - NOT_COUNTED)


def _summary(rec: dict[str, Any]) -> str:
    lines = [
        f"mechanism={rec['mechanism'].get('class')}/{rec['mechanism'].get('group')}/{rec['mechanism'].get('basis')}"
        f" renal={rec['renal'].get('crcl_ml_min')} ({rec['renal'].get('method')})"
    ]
    for opt in rec["options"]:
        items = ", ".join(
            f"{i['agent']} {i.get('dose_mg')}mg q{i.get('interval_h')}h" for i in opt["regimen"]
        )
        lines.append(f"  #{opt['rank']} [{opt['tier']}] {items}")
    return "\n".join(lines)


def _reader_text(rec: dict[str, Any]) -> str:
    parts: list[str] = [rec["mechanism"].get("explanation", ""), *rec["renal"].get("flags", [])]
    for opt in rec["options"]:
        parts += [opt.get("rationale", ""), *opt.get("cautions", [])]
        for item in opt["regimen"]:
            parts += [item.get("dose", ""), item.get("adjusted_for", ""), *item.get("notes", [])]
    parts += [a.get("reason", "") for a in rec["avoid"]]
    parts += rec["warnings"] + rec["monitoring"] + rec["missing_data"]
    return "\n".join(p for p in parts if p)


def _close(got: Any, want: Any) -> bool:
    if want is None or got is None:
        return got is want
    return math.isclose(float(got), float(want), rel_tol=0.01, abs_tol=1e-9)


def check_expectations(rec: dict[str, Any], expect: dict[str, Any]) -> list[str]:
    """Every difference between the Recommendation (JSON form) and the vignette, in words."""
    problems: list[str] = []
    options = rec["options"]
    sets = [_agents(o) for o in options]
    offered = set().union(*sets) if sets else set()
    top = options[0] if options else None
    top_set = sets[0] if sets else frozenset()

    def need(ok: bool, message: str) -> None:
        if not ok:
            problems.append(message)

    # generic checks for every answered case
    need(len(options) >= expect.get("min_options", 1), "no option offered")
    need([o["rank"] for o in options] == list(range(1, len(options) + 1)), "ranks do not run 1..n")
    need(all(o["citations"] for o in options), "an option cites no source")
    need(rec["review"]["status"] == "pending_review", f"review status {rec['review']['status']!r}, expected pending_review")
    need(bool(rec["disclaimer"].strip()), "empty disclaimer")

    if "top_regimen_any_of" in expect:
        allowed = [frozenset(s) for s in expect["top_regimen_any_of"]]
        need(top_set in allowed, f"rank-1 option is {sorted(top_set)}, expected one of {[sorted(s) for s in allowed]}")
    if "top_includes_any" in expect:
        need(bool(top_set & set(expect["top_includes_any"])), f"rank-1 option {sorted(top_set)} contains none of {expect['top_includes_any']}")
    if "top_min_agents" in expect:
        need(_counted(top_set) >= expect["top_min_agents"], f"rank-1 option {sorted(top_set)} has fewer than {expect['top_min_agents']} agents")
    if "top_max_agents" in expect:
        need(_counted(top_set) <= expect["top_max_agents"], f"rank-1 option {sorted(top_set)} has more than {expect['top_max_agents']} agents")
    if "tier_of_top" in expect and top is not None:
        need(top["tier"] == expect["tier_of_top"], f"rank-1 tier {top['tier']!r}, expected {expect['tier_of_top']!r}")
    for wanted in expect.get("some_option_is", []):
        need(frozenset(wanted) in sets, f"no option with exactly {sorted(wanted)}")
    for banned in expect.get("no_option_equals", []):
        need(frozenset(banned) not in sets, f"an option is exactly {sorted(banned)}")
    for a, b in expect.get("no_option_contains_both", []):
        need(not any({a, b} <= s for s in sets), f"an option contains both {a} and {b}")
    for agent in expect.get("must_include_agents", []):
        need(agent in offered, f"{agent} is not offered")
    for agent in expect.get("must_not_offer", []):
        need(agent not in offered, f"{agent} is offered but must not be")
    for agent in expect.get("alone_when_offered", []):
        for s in sets:
            if agent in s:
                need(s - NOT_COUNTED == {agent}, f"{agent} is combined with {sorted(s - {agent})}")
    for agent, companion in expect.get("requires_with", {}).items():
        for s in sets:
            if agent in s:
                need(companion in s, f"option {sorted(s)} has {agent} without {companion}")
    for first, second in expect.get("rank_before", []):
        a, b = frozenset(first), frozenset(second)
        if a not in sets:
            problems.append(f"no option with exactly {sorted(a)} (needed to rank before {sorted(b)})")
        elif b in sets:
            need(sets.index(a) < sets.index(b), f"{sorted(a)} ranks after {sorted(b)}")
    for row in expect.get("option_tier", []):
        s = frozenset(row["agents"])
        if s not in sets:
            problems.append(f"no option with exactly {sorted(s)} (tier {row['tier']} expected)")
        else:
            got = options[sets.index(s)]["tier"]
            need(got == row["tier"], f"option {sorted(s)} has tier {got!r}, expected {row['tier']!r}")
    for agent, tier in expect.get("agent_tier", {}).items():
        for o, s in zip(options, sets):
            if agent in s:
                need(o["tier"] == tier, f"option {sorted(s)} with {agent} has tier {o['tier']!r}, expected {tier!r}")
    for agent, refs in expect.get("citations_for", {}).items():
        for o, s in zip(options, sets):
            if agent in s:
                cited = [*o["citations"], *(c for i in o["regimen"] for c in i["citations"])]
                for ref in refs:
                    need(any(c == ref or c.startswith(ref + ":") for c in cited), f"option {sorted(s)} does not cite {ref}")
    for agent, words in expect.get("cautions_for", {}).items():
        for o, s in zip(options, sets):
            if agent in s:
                text = "\n".join(o["cautions"])
                for word in words:
                    need(_has(text, word), f"cautions of option {sorted(s)} do not mention {word!r}")
    avoided = {a for entry in rec["avoid"] for a in entry["agents"]}
    for agent in expect.get("avoid_includes", []):
        need(agent in avoided, f"{agent} not listed under avoid")
    for agent in expect.get("avoid_excludes", []):
        need(agent not in avoided, f"{agent} listed under avoid but must not be")
    for agent, refs in expect.get("avoid_cites", {}).items():
        entries = [e for e in rec["avoid"] if agent in e["agents"]]
        need(bool(entries), f"{agent} not listed under avoid, so its citations cannot be checked")
        for entry in entries:
            for ref in refs:
                need(any(c == ref or c.startswith(ref + ":") for c in entry["citations"]),
                     f"avoid entry naming {agent} does not cite {ref}")

    mech = rec["mechanism"]
    for key, field in (("mechanism_class", "class"), ("mechanism_group", "group"), ("basis", "basis")):
        if key in expect:
            need(mech.get(field) == expect[key], f"mechanism {field} {mech.get(field)!r}, expected {expect[key]!r}")
    if "enzymes" in expect:
        need(set(mech["enzymes"]) == set(expect["enzymes"]), f"enzymes {mech['enzymes']}, expected {expect['enzymes']}")
    if "risk_score" in expect:
        need(rec["risk"]["increment_cpe_score"] == expect["risk_score"], f"INCREMENT-CPE {rec['risk']['increment_cpe_score']}, expected {expect['risk_score']}")
    if "risk_category" in expect:
        need(rec["risk"]["category"] == expect["risk_category"], f"risk category {rec['risk']['category']!r}, expected {expect['risk_category']!r}")
    renal = rec["renal"]
    if "crcl" in expect:
        got = renal.get("crcl_ml_min")
        want = expect["crcl"]
        need(got is not None and abs(got - want["value"]) <= want["tol"], f"CrCl {got}, expected {want['value']} +/- {want['tol']}")
    if "renal_method" in expect:
        need(renal.get("method") == expect["renal_method"], f"renal method {renal.get('method')!r}, expected {expect['renal_method']!r}")
    if "weight_basis" in expect:
        need(renal.get("weight_basis") == expect["weight_basis"], f"weight basis {renal.get('weight_basis')!r}, expected {expect['weight_basis']!r}")
    for agent, fields in expect.get("dose_of", {}).items():
        items = [i for o in options for i in o["regimen"] if i["agent"] == agent]
        if not items:
            problems.append(f"{agent} not offered, so its dose {fields} cannot be checked")
        for item in items:
            for field, want in fields.items():
                need(_close(item.get(field), want), f"{agent} {field} = {item.get(field)}, expected {want} ({item.get('dose')!r})")

    for agent, fields in expect.get("dose_range_if_offered", {}).items():
        for item in (i for o in options for i in o["regimen"] if i["agent"] == agent):
            for field, (low, high) in fields.items():
                value = item.get(field)
                need(value is not None and low <= value <= high, f"{agent} {field} = {value}, expected {low}-{high} ({item.get('dose')!r})")

    warn_text = "\n".join(rec["warnings"] + [c for o in options for c in o["cautions"]])
    for word in expect.get("warnings_mention", []):
        need(_has(warn_text, word), f"warnings/cautions do not mention {word!r}")
    for word in expect.get("warnings_not_mention", []):
        need(not _has(warn_text, word), f"warnings/cautions mention {word!r} but should not")
    for word in expect.get("monitoring_mention", []):
        need(_has("\n".join(rec["monitoring"]), word), f"monitoring does not mention {word!r}")
    for word in expect.get("missing_data_mention", []):
        need(_has("\n".join(rec["missing_data"]), word), f"missing_data does not mention {word!r}")
    for word in expect.get("missing_data_not_mention", []):
        need(not _has("\n".join(rec["missing_data"]), word), f"missing_data mentions {word!r} but should not")
    reader = _reader_text(rec)
    for word in expect.get("mentions", []):
        need(_has(reader, word), f"the answer nowhere mentions {word!r}")
    return problems


@pytest.fixture(scope="module")
def recommend():
    from cre_advisor import recommend as engine_recommend

    return engine_recommend


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_vignette(path: Path, recommend) -> None:
    vignette = _load(path)
    expect = vignette["expect"]
    header = f"{path.name} [{vignette['rule']}] {vignette['title']}"
    if "raises_field" in expect:
        with pytest.raises(ValueError) as refused:
            recommend(vignette["case"])
        message = str(refused.value)
        missing = [w for w in [expect["raises_field"], *expect.get("raises_mentions", [])] if not _has(message, w)]
        assert not missing, f"{header}\n  refusal message does not mention {missing}:\n{message}"
        return
    rec = recommend(vignette["case"]).model_dump(mode="json", by_alias=True)
    problems = check_expectations(rec, expect)
    assert not problems, f"{header}\n  " + "\n  ".join(problems) + "\n" + _summary(rec)


def test_vignette_files_are_well_formed() -> None:
    """Keys are known, each file names a rule, and the suite is large enough."""
    assert len(CASE_FILES) >= 60
    for path in CASE_FILES:
        vignette = _load(path)
        assert {"title", "rule", "fires", "case", "expect"} <= set(vignette), path.name
        unknown = set(vignette["expect"]) - KNOWN_KEYS
        assert not unknown, f"{path.name}: unknown expect keys {unknown}"
        json.dumps(vignette["case"])  # the case is plain JSON


def test_every_rule_has_a_firing_and_a_non_firing_case() -> None:
    seen: dict[str, set[bool]] = defaultdict(set)
    for path in CASE_FILES:
        vignette = _load(path)
        seen[vignette["rule"]].add(bool(vignette["fires"]))
    unpaired = sorted(rule for rule, fires in seen.items() if fires != {True, False})
    assert not unpaired, f"rules without both a firing and a non-firing vignette: {unpaired}"


def test_checker_reports_differences() -> None:
    """The checker itself can fail: a wrong top regimen and a wrong dose are both reported."""
    rec = {
        "mechanism": {"class": "serine_carbapenemase", "group": "kpc", "basis": "reported", "enzymes": ["KPC"], "explanation": ""},
        "renal": {"crcl_ml_min": 100, "method": "measured", "weight_basis": None, "flags": []},
        "risk": {"increment_cpe_score": None, "category": "unknown"},
        "options": [{"rank": 1, "tier": "preferred", "citations": ["idsa-2024"], "cautions": [], "rationale": "",
                     "regimen": [{"agent": "ceftazidime-avibactam", "dose": "2.5 g", "dose_mg": 2500, "interval_h": 8,
                                  "infusion_h": 3, "loading_dose_mg": None, "adjusted_for": "", "citations": [], "notes": []}]}],
        "avoid": [], "warnings": [], "monitoring": [], "missing_data": [],
        "review": {"status": "pending_review"}, "disclaimer": "x",
    }
    assert check_expectations(rec, {"top_regimen_any_of": [["ceftazidime-avibactam"]]}) == []
    assert check_expectations(rec, {"top_regimen_any_of": [["meropenem-vaborbactam"]]})
    assert check_expectations(rec, {"dose_of": {"ceftazidime-avibactam": {"dose_mg": 940, "interval_h": 12}}})
    assert check_expectations(rec, {"must_not_offer": ["ceftazidime-avibactam"]})
    rec["avoid"] = [{"agents": ["ceftazidime-avibactam"], "reason": "r", "citations": ["idsa-2024"]}]
    assert check_expectations(rec, {"avoid_excludes": ["ceftazidime-avibactam"]})
    assert check_expectations(rec, {"avoid_cites": {"ceftazidime-avibactam": ["eucast-bp-16.1"]}})
    assert check_expectations(rec, {"avoid_cites": {"ceftazidime-avibactam": ["idsa-2024"]}}) == []
