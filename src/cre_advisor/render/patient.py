"""The patient-or-family renderer: plain words, no doses, the same sources and review status.

It says what the team plans and why in everyday language. Clinical detail the knowledge base
has not worded for patients (dose text, technical warnings) is left out rather than simplified
here, so nothing is paraphrased into something the sources do not say.
"""

from __future__ import annotations

from cre_advisor.render.view import Cited, OptionView, RenderContext, ReviewBanner, Section, View, review_banner

TIER_WORDS = {
    "preferred": "First choice",
    "alternative": "Another option",
    "last_resort": "Used only if the other options cannot be given",
}
MECHANISM_WORDS = {
    "serine_carbapenemase": (
        "Tests show the germ makes an enzyme{enzymes} that breaks down carbapenems, a group of strong "
        "antibiotics. Some newer medicines are made to block this enzyme."
    ),
    "metallo_beta_lactamase": (
        "Tests show the germ makes an enzyme{enzymes} that breaks down most antibiotics of the penicillin "
        "family, including carbapenems. Only a few medicines or combinations still work against it."
    ),
    "non_carbapenemase": (
        "The germ resists carbapenems, a group of strong antibiotics, without making an enzyme that breaks "
        "them down. The choice of medicine follows the laboratory's test results."
    ),
    "unknown": (
        "The laboratory has not yet found out how the germ resists antibiotics. The plan may change when "
        "that result arrives."
    ),
}
ROUTE_PHRASES = {"IV": "given into a vein (a drip)", "PO": "taken by mouth", "IM": "given as an injection into a muscle"}


def _route(route: str) -> str:
    return ROUTE_PHRASES.get(route.upper(), f"given by the {route} route")


def _option(ctx: RenderContext, option_index: int) -> OptionView:
    option = ctx.rec.options[option_index]
    lines = []
    for item in option.regimen:
        lines.append(Cited(f"{ctx.agent_name(item.agent)}, {_route(item.route)}", ctx.cite.mark(item.citations)))
    together = "These medicines are given together." if len(option.regimen) > 1 else ""
    reason = Cited(
        " ".join(filter(None, [together, "The team chose it from the guidance listed under Sources."])),
        ctx.cite.mark(option.citations),
    )
    return OptionView(
        rank=option.rank,
        tier=option.tier,
        tier_label=TIER_WORDS[option.tier],
        title=ctx.agents_title([item.agent for item in option.regimen]),
        lines=tuple(lines),
        rationale=reason,
        cautions=(),
    )


def _plain(ctx: RenderContext, texts: list[str]) -> tuple[Cited, ...]:
    """Only statements the knowledge base words for patients."""
    return tuple(Cited(v) for v in (ctx.variant(t, "patient") for t in texts) if v)


def _banner(ctx: RenderContext) -> ReviewBanner:
    banner = review_banner(ctx.rec.review)
    plain = {
        "pending_review": "The doctors who check this tool's content for this hospital have not checked it yet.",
        "under_review": "The doctors who check this tool's content for this hospital are checking it now.",
        "changes_requested": "The doctors who check this tool's content for this hospital asked for changes.",
        "approved": "The doctors who check this tool's content for this hospital have approved it.",
    }[banner.status]
    return ReviewBanner(banner.status, banner.label, plain, banner.last_updated, banner.steps)


def build(ctx: RenderContext) -> View:
    rec = ctx.rec
    view = View(
        audience="patient",
        heading="What the care team is planning",
        lead="This explains, in everyday words, the treatment the care team is considering and why.",
        review=_banner(ctx),
        shows_doses=False,
    )
    mech = rec.mechanism
    enzymes = f" ({', '.join(mech.enzymes)})" if mech.enzymes else ""
    mechanism_citations = [c for entry in rec.trace if "mechanism" in entry.step for c in entry.citations]
    view.summary = [
        Cited(
            "The infection is caused by a germ from a family called Enterobacterales that is resistant to "
            "carbapenems, which are among the strongest common antibiotics."
        ),
        Cited(MECHANISM_WORDS[mech.class_].format(enzymes=enzymes), ctx.cite.mark(mechanism_citations)),
        Cited("The amount of each medicine is worked out for this patient, including how well the kidneys work."),
    ]
    view.options_title = "The medicines the team may use"
    view.options = [_option(ctx, i) for i in range(len(rec.options))]
    view.no_options_text = "The tool found no standard choice for this case; the care team will decide with specialists."
    avoid_agents = sorted({ctx.agent_name(a) for rule in rec.avoid for a in rule.agents})
    avoid_items: tuple[Cited, ...] = ()
    if avoid_agents:
        markers = ctx.cite.mark([c for rule in rec.avoid for c in rule.citations])
        avoid_items = (Cited(
            "The team will not use these here, because they would not work well for this infection or "
            f"are not safe for this patient: {', '.join(avoid_agents)}.",
            markers,
        ),)
    waiting: tuple[Cited, ...] = ()
    if rec.missing_data:
        waiting = (Cited("Some test results or details are still missing. They may change the plan when they arrive."),)
    view.sections = [
        Section("avoid", "Medicines the team will not use", avoid_items, "None."),
        Section("warnings", "Things the team is watching", _plain(ctx, rec.warnings + rec.monitoring),
                "Ask the care team what they are watching for."),
        Section("missing_data", "Still to come", waiting, "Nothing else is awaited."),
    ]
    view.disclaimer = ctx.variant(rec.disclaimer, "patient") or (
        "This page helps you follow what the care team is doing. It does not replace their advice: "
        "please ask them about anything that is unclear or worrying."
    )
    return view
