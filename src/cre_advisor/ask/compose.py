"""Composes the answer to a follow-up question from the matched items' own text.

Nothing clinical is written here: lines are the items' own wording (passages.py), and the
patient and family view shows an item only in the wording the knowledge base gives it for them
(as the plan's patient renderer does). With a case in context, the patient's part comes from
the case's own Recommendation (its options, doses and avoid list), or from `dose_for` with the
case's renal function for an agent outside the plan. A question the knowledge base does not
cover gets its reason and the nearest topics it does cover.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cre_advisor.ask.coverage import judge
from cre_advisor.ask.index import AskIndex, Hit, Reading, index_for
from cre_advisor.ask.models import Answer, AnswerItem, CitedLine, Topic
from cre_advisor.ask.passages import NO_DOSES_FOR_PATIENTS, Passage
from cre_advisor.ask.ranking import TOPIC_KINDS, Focus, weigh
from cre_advisor.case import Case, RenalReplacement
from cre_advisor.dosing import INDIVIDUALISE, dose_for
from cre_advisor.engine import REVIEW_ORDER, REVIEW_OUTPUT, recommend
from cre_advisor.knowledge.loader import Knowledge, default_knowledge
from cre_advisor.patient import assess_renal_function
from cre_advisor.recommendation import Option, Recommendation, RegimenItem, Review
from cre_advisor.render.patient import TIER_WORDS
from cre_advisor.render.professional import TIER_LABELS
from cre_advisor.render.view import check_audience

MAX_QUESTION_CHARS = 500
NEAREST_TOPICS = 3
PLAN_OPTIONS = 3
FOR_CARE_TEAM = "This tool has no explanation of this written for patients and families; please ask your care team about it."


def answer(
    question: str,
    *,
    case: Case | Mapping[str, Any] | None = None,
    audience: str = "clinician",
    knowledge: Knowledge | None = None,
    review_states: Mapping[str, str] | None = None,
    strict: bool = False,
) -> Answer:
    """The cited answer to a follow-up question, for this case when one is given.

    `review_states` maps item ids to the advisory board's review state; `strict` quotes only
    approved items (reference titles are sources, not reviewed content, and stay) and names
    the ones it left out, as the engine's strict mode does. Raises ValueError naming the
    problem for an empty or over-long question or an unknown audience, and pydantic's
    ValidationError for an invalid case.
    """
    check_audience(audience)
    question = " ".join(question.split())
    if not question:
        raise ValueError("question: must not be empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise ValueError(f"question: at most {MAX_QUESTION_CHARS} characters (got {len(question)})")
    knowledge = knowledge or default_knowledge()
    index = index_for(knowledge)
    states = review_states or {}
    case = None if case is None else case if isinstance(case, Case) else Case.model_validate(case)
    rec = None if case is None else recommend(case, knowledge=knowledge, review_states=states, strict=strict)

    reading = index.read(question)
    focus = _focus(case, rec, reading)
    hits = index.search(index.about(reading, focus.agents), weigh(reading, focus, index.subjects, index.mentions))
    verdict = judge(reading, hits, index.vocabulary)
    left_out: list[str] = []
    if strict:
        shown = hits[:index.vocabulary.answer_items]
        hits = [h for h in hits if _status(h.passage, states) in (None, "approved")]
        left_out = [h.passage.id for h in shown if h not in hits]
    base = {
        "question": question,
        "audience": audience,
        "understood": _understood(reading, knowledge),
        "corrections": [f"{wrong} -> {right}" for wrong, right in reading.corrections],
        "knowledge_version": knowledge.version,
        "disclaimer": _disclaimer(knowledge, audience),
    }
    if not verdict.covered:
        return Answer(
            **base, covered=False, not_covered_reason=verdict.reason, nearest_topics=_nearest(index, hits),
            review=Review(status="pending_review", last_updated=knowledge.released, items_used=0),
        )

    chosen = _for_audience(hits, audience, index.vocabulary.answer_items)
    items = [_item(rank, hit, audience, states) for rank, hit in enumerate(chosen, 1)]
    patient: list[CitedLine] = []
    used = {hit.passage.id for hit in chosen}
    if case is not None and rec is not None:
        patient, plan_items = _for_this_patient(reading, case, rec, audience, knowledge)
        topic_lines, topic_items = _topic_for_case(reading, index, case, rec, audience)
        patient, used = topic_lines + patient, used | plan_items | topic_items
    return Answer(
        **base, covered=True, not_in_knowledge_base=list(reading.unknown), for_this_patient=patient, items=items,
        left_out_unapproved=left_out, review=_review(used, knowledge, states),
    )


def _for_audience(hits: list[Hit], audience: str, count: int) -> list[Hit]:
    """The items to quote; for patients and families, those the base words for them first.

    Only the closest matches are reordered (a weaker item is never pulled in for its wording): items
    with patient wording move ahead of those written only for the care team, which are then quoted
    with a plain "ask your care team".
    """
    chosen = hits[:count]
    return sorted(chosen, key=lambda hit: not hit.passage.patient_wording) if audience == "patient" else chosen


def _focus(case: Case | None, rec: Recommendation | None, reading: Reading) -> Focus:
    if case is None or rec is None:
        return Focus()
    agents = frozenset(_first_choice(rec)) if _asks_dose(reading, case) else frozenset()
    return Focus(case.context.guideline_profile.value, frozenset({rec.mechanism.group}),
                 frozenset({case.infection.site.value}), agents)


def _asks_dose(reading: Reading, case: Case) -> bool:
    """A dose question, or one about a renal replacement mode the patient is not on ("what if she goes on dialysis?")."""
    mode = reading.renal_replacement
    return reading.asks_dose or (mode is not None and mode != case.patient.renal_replacement.value)


def _first_choice(rec: Recommendation) -> list[str]:
    """The agents of the plan's first option: what a dose question about 'her' antibiotic means."""
    return [item.agent for item in rec.options[0].regimen] if rec.options else []


def _item(rank: int, hit: Hit, audience: str, states: Mapping[str, str]) -> AnswerItem:
    passage = hit.passage
    status = _status(passage, states)
    if audience == "patient" and not passage.patient_wording:
        lines = [CitedLine(text=FOR_CARE_TEAM, citations=list(passage.citations))]
    else:
        lines = [CitedLine(text=line.text, citations=list(line.citations)) for line in passage.body(audience)]
    return AnswerItem(
        rank=rank, id=passage.id, kind=passage.kind, title=passage.title, lines=lines,  # type: ignore[arg-type]
        review_status=status, updated=passage.updated, score=round(hit.score, 3),  # type: ignore[arg-type]
    )


def _status(passage: Passage, states: Mapping[str, str]) -> str | None:
    """The board's state of an item (its shipped state when the board has none); None for a reference."""
    return None if passage.review_status is None else states.get(passage.id, passage.review_status)


def _understood(reading: Reading, knowledge: Knowledge) -> list[str]:
    """'CZA = Ceftazidime-avibactam', 'VAP -> pneumonia': what the question's words were read as."""
    notes = []
    for found in reading.found:
        term = found.term
        if term.kind == "outside":
            continue
        if term.kind == "agent":
            names = ", ".join(knowledge.agents[a].name for a in term.agents)
            if names.lower() != found.text.lower():
                notes.append(f"{found.text} = {names}")
        elif _key(found.text) not in {_key(term.label), *(_key(word) for word in term.adds)}:
            notes.append(f"{found.text} -> {term.label}")
    return list(dict.fromkeys(notes))


def _key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _nearest(index: AskIndex, hits: list[Hit]) -> list[Topic]:
    """The closest covered items, or without any match one item for each topic the statements cover."""
    if hits:
        return [Topic(id=h.passage.id, title=h.passage.title) for h in hits[:NEAREST_TOPICS]]
    seen: dict[str, Topic] = {}
    for passage in index.passages:
        if passage.topic is not None:
            seen.setdefault(passage.topic, Topic(id=passage.id, title=passage.title))
    return list(seen.values())


def _for_this_patient(
    reading: Reading, case: Case, rec: Recommendation, audience: str, knowledge: Knowledge
) -> tuple[list[CitedLine], set[str]]:
    """Lines from this case's recommendation: the patient's dose, or where the named agents stand."""
    named = [a for a in reading.agents if a in knowledge.agents]
    in_plan = _plan_agents(rec)
    lines: list[CitedLine] = []
    used: set[str] = set()
    if _asks_dose(reading, case):
        targets = named or _first_choice(rec)
        if audience == "patient":
            lines.append(CitedLine(text=NO_DOSES_FOR_PATIENTS))
        else:
            lines.append(CitedLine(text=f"Renal function used for this patient's doses: {_renal_summary(case)}."))
            for agent in targets:
                lines += _dose_lines(agent, case, in_plan, knowledge)
                used.add(f"dosing:{agent}")
            mode = reading.renal_replacement
            if mode is not None and mode != case.patient.renal_replacement.value:
                lines += _dose_lines_on(mode, targets, case, knowledge)
    if named:
        for agent in named:
            if reading.asks_dose and agent in in_plan:
                continue  # its dose line already says which option it is
            line, item_id = _standing(agent, rec, in_plan, audience, knowledge)
            lines.append(line)
            used |= {item_id} if item_id else set()
    elif reading.asks_choice and not _asks_dose(reading, case) and not reading.subject_terms(TOPIC_KINDS):
        lines.append(CitedLine(text=f"Resistance mechanism for this case: {rec.mechanism.explanation}."))
        for option in rec.options[:PLAN_OPTIONS]:
            lines.append(_option_line(option, audience, knowledge))
            used.add(option.id)
        if not rec.options:
            lines += [CitedLine(text=w) for w in rec.warnings if "No regimen" in w]
    return lines, used


def _topic_for_case(
    reading: Reading, index: AskIndex, case: Case, rec: Recommendation, audience: str
) -> tuple[list[CitedLine], set[str]]:
    """Statements on the question's topic ("how long?" -> duration) made for this case's site and mechanism.

    A statement for a site or mechanism answers for this patient only when it names the case's;
    one made for every case is already among the items and is not repeated here.
    """
    topics = reading.subject_terms(TOPIC_KINDS)
    if not topics:
        return [], set()
    site, group = case.infection.site.value, rec.mechanism.group
    lines, used = [], set()
    for passage in index.passages:
        applies = passage.applies
        if passage.kind != "statement" or applies is None or not topics & index.subjects[passage.id]:
            continue
        if not (applies.sites or applies.groups) or site not in (applies.sites or (site,)) or group not in (applies.groups or (group,)):
            continue
        if audience == "patient" and not passage.patient_wording:
            continue
        lines += [CitedLine(text=line.text, citations=list(line.citations)) for line in passage.body(audience)]
        used.add(passage.id)
    return lines, used


def _plan_agents(rec: Recommendation) -> dict[str, tuple[Option, RegimenItem]]:
    """Each agent in the plan with the first option that holds it."""
    found: dict[str, tuple[Option, RegimenItem]] = {}
    for option in rec.options:
        for item in option.regimen:
            found.setdefault(item.agent, (option, item))
    return found


def _renal_summary(case: Case) -> str:
    renal = assess_renal_function(case.patient)
    flags = f" ({'; '.join(renal.flags)})" if renal.flags else ""
    return renal.summary + flags


def _dose_lines(
    agent: str, case: Case, in_plan: dict[str, tuple[Option, RegimenItem]], knowledge: Knowledge
) -> list[CitedLine]:
    """This patient's dose of one agent: the plan's own dose, else `dose_for` with the case's renal function."""
    name = knowledge.agents[agent].name
    if agent in in_plan:
        option, item = in_plan[agent]
        text = f"{name} {item.route} for this patient (option {option.rank}): {item.dose} (for {item.adjusted_for})"
        return [CitedLine(text=_with_notes(text, item.notes), citations=list(item.citations))]
    if agent not in knowledge.dosing.agents:
        return [CitedLine(text=f"{name}: no dose table in this knowledge base; {INDIVIDUALISE}.")]
    dose = dose_for(agent, renal=assess_renal_function(case.patient), patient=case.patient,
                    site=case.infection.site.value, knowledge=knowledge)
    text = f"{name} {dose.route} for this patient: {dose.dose} (for {dose.adjusted_for})"
    return [CitedLine(text=_with_notes(text, list(dose.notes)), citations=list(dose.citations))]


def _dose_lines_on(mode: str, agents: list[str], case: Case, knowledge: Knowledge) -> list[CitedLine]:
    """The question asks about a renal replacement mode the case is not on: this patient's dose on it."""
    patient = case.patient.model_copy(update={"renal_replacement": RenalReplacement(mode)})
    renal = assess_renal_function(patient)
    lines = [CitedLine(text=f"This patient is not on {renal.summary}; if started, the tables give:")]
    for agent in agents:
        if agent in knowledge.dosing.agents:
            dose = dose_for(agent, renal=renal, patient=patient, site=case.infection.site.value, knowledge=knowledge)
            text = f"{knowledge.agents[agent].name} {dose.route} on {renal.summary}: {dose.dose} (for {dose.adjusted_for})"
            lines.append(CitedLine(text=_with_notes(text, list(dose.notes)), citations=list(dose.citations)))
    return lines


def _with_notes(text: str, notes: list[str]) -> str:
    return f"{text}. {'; '.join(notes)}" if notes else text


def _standing(
    agent: str, rec: Recommendation, in_plan: dict[str, tuple[Option, RegimenItem]], audience: str, knowledge: Knowledge
) -> tuple[CitedLine, str | None]:
    """Where a named agent stands in this case's plan: an option, to be avoided, or not offered."""
    name = knowledge.agents[agent].name
    if agent in in_plan:
        option, _ = in_plan[agent]
        tier = (TIER_WORDS if audience == "patient" else TIER_LABELS)[option.tier]
        reason = "" if audience == "patient" else f": {option.rationale}"
        return CitedLine(text=f"In this patient's plan, {name} is option {option.rank} ({tier}){reason}",
                         citations=list(option.citations)), option.id
    for avoid in rec.avoid:
        if agent in avoid.agents:
            return CitedLine(text=f"In this patient's plan, {name} is to be avoided: {avoid.reason}",
                             citations=list(avoid.citations)), None
    said = [w for w in rec.warnings if agent in w or name.lower() in w.lower()]
    text = f"{name} is not among this patient's options." + (f" {' '.join(said)}" if said else "")
    return CitedLine(text=text), None


def _option_line(option: Option, audience: str, knowledge: Knowledge) -> CitedLine:
    names = " + ".join(knowledge.agents[i.agent].name for i in option.regimen)
    if audience == "patient":
        return CitedLine(text=f"Option {option.rank} ({TIER_WORDS[option.tier]}): {names}", citations=list(option.citations))
    doses = "; ".join(f"{knowledge.agents[i.agent].name} {i.dose}" for i in option.regimen)
    return CitedLine(text=f"Option {option.rank} ({TIER_LABELS[option.tier]}): {doses}", citations=list(option.citations))


def _review(used: set[str], knowledge: Knowledge, states: Mapping[str, str]) -> Review:
    """The least-reviewed item the answer used, as the engine reports a recommendation's review."""
    found = [(states.get(i, knowledge.items[i].review_status), knowledge.items[i].updated or knowledge.released)
             for i in used if i in knowledge.items]
    worst = min((s for s, _ in found), key=REVIEW_ORDER.__getitem__, default="submitted")
    return Review(status=REVIEW_OUTPUT[worst], last_updated=max((d for _, d in found), default=knowledge.released),  # type: ignore[arg-type]
                  items_used=len(found))


def _disclaimer(knowledge: Knowledge, audience: str) -> str:
    texts = knowledge.statements["disclaimer"].text
    return texts.get(audience) or texts["clinician"]  # type: ignore[call-overload,no-any-return]
