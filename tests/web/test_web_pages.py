"""The bedside pages through the test client: form, result, audience switch, saved links, agents."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cre_advisor import recommend
from cre_advisor.case import Case
from web_helpers import KPC_BLOODSTREAM, KPC_FORM

HTML = {"accept": "text/html"}
DOSE = re.compile(r"\d\s*(mg|g)\b|q\d+h|mL/min", re.IGNORECASE)


def _case_json() -> str:
    return Case.model_validate(KPC_BLOODSTREAM).model_dump_json()


def _main_text(page: str) -> str:
    """Visible text of <main>, tags removed (hidden form fields carry the case JSON)."""
    main = page[page.index("<main"):page.index("</main>")]
    main = re.sub(r"<input[^>]*>", " ", main)
    return html.unescape(re.sub(r"<[^>]+>", " ", main))


def test_form_page_has_every_part_of_the_case(client: TestClient) -> None:
    page = client.get("/").text
    for name in ("patient.age_years", "creatinine_value", "creatinine_unit", "patient.renal_replacement",
                 "patient.crrt_effluent_l_h", "patient.child_pugh_class", "allergy.0.agent", "allergy.0.reaction",
                 "infection.site", "infection.severity", "infection.source_control", "increment.mode",
                 "infection.increment_cpe.pitt_score", "infection.increment_cpe_score", "isolate.organism",
                 "carbapenemase.status", "carbapenemase.enzyme", "isolate.carbapenemase_test", "isolate.breakpoints",
                 "sus.cefiderocol.mic", "sus.cefiderocol.sir", "unavailable", "context.guideline_profile", "local.KPC"):
        assert f'name="{name}"' in page, name
    assert '<label for="f-patient-age_years">' in page
    assert re.search(r'<option value="severe"\s+selected>', page)  # ICU default
    assert 'value="mg_dl" checked' in page


def test_result_page_shows_the_adjusted_dose_and_everything_around_it(client: TestClient) -> None:
    response = client.post("/plan", data=KPC_FORM, headers=HTML)
    assert response.status_code == 200
    page, text = response.text, _main_text(response.text)
    rec = recommend(KPC_BLOODSTREAM)
    top = rec.options[0].regimen[0]
    # DOSING.md meropenem-vaborbactam, eGFR 30-49: 2 g q8h (not the 4 g of normal function).
    assert top.agent == "meropenem-vaborbactam" and top.dose.startswith("2 g")
    assert f"Meropenem-vaborbactam IV: {top.dose}" in text
    assert "Pending review by your advisory board" in text and "4 December 2026" in text
    assert "Which best describes you?" in text
    assert "<details" in page and "How this answer was reached" in text
    assert 'id="ref-1"' in page and 'href="#ref-1"' in page
    assert rec.disclaimer in text
    for avoid in rec.avoid:
        assert avoid.reason in text


def test_result_page_headers_protect_the_case(client: TestClient) -> None:
    response = client.post("/plan", data=KPC_FORM, headers=HTML)
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_invalid_form_comes_back_with_the_fields_named(client: TestClient) -> None:
    data = {**KPC_FORM, "patient.age_years": "", "isolate.organism": "Pseudomonas aeruginosa", "patient.weight_kg": "x"}
    response = client.post("/plan", data=data, headers=HTML)
    assert response.status_code == 422
    text = _main_text(response.text)
    assert "Please check 3 fields" in text
    assert "Age (years):" in text and "Organism: Pseudomonas aeruginosa is not an Enterobacterales species" in text
    assert 'href="#f-patient-weight_kg"' in response.text and 'aria-invalid="true"' in response.text
    assert 'value="Pseudomonas aeruginosa"' in response.text  # what was typed is kept


def test_audience_switch_rerenders_and_is_remembered(app: Any) -> None:
    with TestClient(app) as client:
        patient = client.post("/plan", data={"case_json": _case_json(), "audience": "patient"}, headers=HTML)
        assert patient.status_code == 200
        assert "cre_audience=patient" in patient.headers["set-cookie"]
        text = _main_text(patient.text)
        assert "What the care team is planning" in text
        assert not DOSE.search(text), DOSE.search(text)
        assert "Pending review by your advisory board" in text and "Sources" in text
        again = client.post("/plan", data={"case_json": _case_json()}, headers=HTML)
        assert "What the care team is planning" in again.text  # the cookie chose the audience
        nurse = client.post("/plan", data={"case_json": _case_json(), "audience": "nurse"}, headers=HTML)
        assert "Treatment plan: giving the drugs" in nurse.text
        odd = client.post("/plan", data={"case_json": _case_json(), "audience": "surgeon"}, headers=HTML)
        assert "Treatment plan: giving the drugs" in odd.text  # unknown choice ignored, cookie kept


@pytest.mark.parametrize("case_json", ["{not json", json.dumps({"patient": {}}), "x" * 70_000])
def test_bad_hidden_case_is_refused_without_a_500(client: TestClient, case_json: str) -> None:
    response = client.post("/plan", data={"case_json": case_json}, headers=HTML)
    assert response.status_code in (413, 422)


def test_save_gives_an_unguessable_link_that_reopens_the_case(app: Any) -> None:
    with TestClient(app) as client:
        saved = client.post("/cases", data={"case_json": _case_json()}, follow_redirects=False)
        assert saved.status_code == 303
        location = saved.headers["location"]
        case_id = location.rsplit("/", 1)[1]
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", case_id)
        page = client.get(location, headers=HTML)
        assert page.status_code == 200
        assert f'value="http://testserver/cases/{case_id}"' in page.text
        assert "Meropenem-vaborbactam IV: 2 g" in _main_text(page.text)
        patient = client.get(f"{location}?audience=patient", headers=HTML)
        assert "cre_audience=patient" in patient.headers["set-cookie"]
        assert not DOSE.search(_main_text(patient.text))


def test_save_refuses_an_invalid_case(client: TestClient) -> None:
    assert client.post("/cases", data={"case_json": "{}"}).status_code == 422


def test_unknown_saved_case_is_a_404_page(client: TestClient) -> None:
    response = client.get("/cases/" + "B" * 32, headers=HTML)
    assert response.status_code == 404
    assert "no saved case at this link" in response.text
    truncated = client.get("/cases/" + "B" * 20, headers=HTML)  # a link cut short when copied
    assert truncated.status_code == 404 and truncated.headers["content-type"].startswith("text/html")
    assert "incomplete or mistyped" in truncated.text


def test_edit_fills_the_form_from_the_case(client: TestClient) -> None:
    page = client.post("/edit", data={"case_json": _case_json()}).text
    assert 'name="patient.age_years" type="text"' in page and 'value="67"' in page
    assert 'value="KPC" checked' in page
    assert client.post("/edit", data={"case_json": "{}"}).status_code == 200  # an empty form, not an error


def test_agents_page_links_every_agent(client: TestClient) -> None:
    page = client.get("/agents").text
    assert 'href="/agents/cefiderocol"' in page and 'href="/agents/colistin"' in page


def test_agent_page_shows_the_dose_table_by_renal_band(client: TestClient) -> None:
    response = client.get("/agents/ceftazidime-avibactam", headers=HTML)
    assert response.status_code == 200
    text = _main_text(response.text)
    # DOSING.md, ceftazidime-avibactam: > 50 -> 2.5 g q8h; 31-50 -> 1.25 g q8h.
    assert re.search(r"CrCl > 50 mL/min\s+2500 mg", text)
    assert re.search(r"CrCl 31-50 mL/min\s+1250 mg", text)
    assert "Sources" in text and "Pending review by your advisory board" in text


def test_agent_page_by_synonym_redirects_and_unknown_is_404(client: TestClient) -> None:
    moved = client.get("/agents/Fetroja", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "/agents/cefiderocol"
    missing = client.get("/agents/unobtainium", headers=HTML)
    assert missing.status_code == 404 and "No agent called" in missing.text


def test_references_page_lists_every_source(client: TestClient) -> None:
    from cre_advisor.knowledge.loader import default_knowledge

    page = html.unescape(client.get("/references").text)
    for ref in default_knowledge().references.values():
        assert f'id="{ref.id}"' in page and ref.title in page


def test_static_files_and_print_stylesheet(client: TestClient) -> None:
    css = client.get("/static/style.css")
    assert css.status_code == 200 and "@media print" in css.text
    assert client.get("/static/app.js").status_code == 200


def test_banner_links_the_editorial_policy_when_review_is_mounted(client: TestClient) -> None:
    import importlib.util

    page = client.get("/agents/cefiderocol").text
    if importlib.util.find_spec("cre_advisor.review.web") is None:
        assert "How content is reviewed" not in page
    else:
        assert 'href="/review/policy">How content is reviewed</a>' in page


def test_every_agent_page_renders(client: TestClient) -> None:
    from cre_advisor.knowledge.loader import default_knowledge

    knowledge = default_knowledge()
    for agent_id in knowledge.agents:
        response = client.get(f"/agents/{agent_id}", headers=HTML)
        assert response.status_code == 200, agent_id
        if agent_id in knowledge.dosing.agents:
            assert "Kidney function" in response.text, agent_id
            assert not re.search(r"<td>\s*0 (mg|g)\b", response.text), agent_id  # no row may read as a zero dose


FIELD_NAMES = sorted({*KPC_FORM, "patient.crrt_effluent_l_h", "patient.child_pugh_class", "allergy.0.agent",
                      "allergy.0.reaction", "infection.increment_cpe.pitt_score", "infection.increment_cpe_score",
                      "local.KPC", "unavailable", "sus.colistin.mic", "audience", "case_json"})


def test_no_form_post_is_a_server_error(client: TestClient) -> None:
    """Whatever a browser (or anything else) posts to the form, the answer is a page, never a 500."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    text = st.one_of(st.sampled_from(["", "1", "-3", "1e400", "nan", "KPC", "S", "parts", "score", "detected", "{}"]),
                     st.text(max_size=12))

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.dictionaries(st.sampled_from(FIELD_NAMES), text, max_size=12), st.booleans())
    def post(changes: dict[str, str], start_from_kpc: bool) -> None:
        data = {**(KPC_FORM if start_from_kpc else {}), **changes}
        response = client.post("/plan", data=data, headers=HTML)
        assert response.status_code in (200, 413, 422), (data, response.status_code)

    post()
