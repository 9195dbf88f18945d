"""The plan page's layout and what sits beside the answer (issue 17), through the test client.

Decision first, the interpreted-MIC table, allergies echoed, each option's own review state with
its approver, the topic page, the review links, and the smaller page fixes (gzip, favicon,
/docs landmarks, truncated links, the saved link in print).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cre_advisor.review.accounts import Accounts
from cre_advisor.review.content import make_item
from cre_advisor.review.web import review_of
from cre_advisor.review.workflow import Action
from cre_advisor.web.app import create_app
from web_helpers import make_settings

PASSWORD = "quince harbour lantern 93 meadow"  # not on the common-password list the accounts refuse

EXAMPLE = Path(__file__).parents[2] / "examples" / "kpc-bacteremia.json"
HTML = {"accept": "text/html"}


def _plan(client: TestClient, audience: str = "clinician", case: str | None = None) -> str:
    response = client.post("/plan", data={"case_json": case or EXAMPLE.read_text(), "audience": audience}, headers=HTML)
    assert response.status_code == 200, response.text[:500]
    return response.text


def _rows(page: str) -> dict[str, list[str]]:
    """The MIC table's rows by agent: the cells' text."""
    table = page[page.index('class="grid mic-table"'):page.index("</table>", page.index('class="grid mic-table"'))]
    rows = {}
    for row in re.findall(r"<tr class=\"sir-[^\"]*\">(.*?)</tr>", table, re.S):
        cells = [html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c))).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        rows[cells[0]] = cells[1:]
    return rows


def test_the_decision_comes_before_the_reasoning(client: TestClient) -> None:
    page = _plan(client)
    order = [page.index(marker) for marker in (
        'id="option-1"', 'id="option-2"', 'id="avoid-heading"', "Which best describes you?", 'id="review-heading"',
        'id="summary-heading"', 'id="mic-heading"', "How this answer was reached", 'id="references-heading"',
    )]
    assert order == sorted(order)
    top = page[page.index('id="option-1"'):page.index('id="option-2"')]
    # The example's top option: meropenem-vaborbactam at CrCl 38.7 mL/min, 2 g q8h over 3 h (DOSING.md, eGFR 30-49).
    assert "Meropenem-vaborbactam IV: 2 g" in top
    assert re.search(r"<dt>Interval</dt><dd>every 8 h</dd>.*<dt>Infusion</dt><dd>over 3 h</dd>.*<dt>Loading dose</dt><dd>", top)


def test_interpreted_mics_are_shown_with_the_breakpoint_row_used(client: TestClient) -> None:
    rows = _rows(_plan(client))
    # EUCAST v16.1 Enterobacterales: meropenem S <= 2, R > 8; ceftazidime-avibactam S <= 8, R > 8 mg/L.
    assert rows["Meropenem"][:2] == ["16", "R : resistant, read from the MIC"]
    assert "S ≤ 2, R > 8" in rows["Meropenem"][2] and "EUCAST" in rows["Meropenem"][2]
    assert rows["Ceftazidime-avibactam"][:2] == ["2", "S : susceptible, read from the MIC"]
    assert "S ≤ 8, R > 8" in rows["Ceftazidime-avibactam"][2]
    assert rows["Meropenem-vaborbactam"][:2] == ["—", "S : susceptible, reported by the laboratory"]
    assert set(rows) >= {"Ertapenem", "Cefiderocol", "Amikacin", "Tigecycline"}
    assert re.search(r"S ≤ 2, R &gt; 8\s*<span class=\"cites\">\[<a class=\"cite\" href=\"#ref-\d+\"", _plan(client))


def test_breakpoint_citations_share_the_reference_list_numbers(client: TestClient) -> None:
    page = _plan(client)
    numbers = re.findall(r'<li id="ref-(\d+)">', page)
    assert numbers == [str(n) for n in range(1, len(numbers) + 1)]  # no source listed twice, no gap
    for target in set(re.findall(r'href="#ref-(\d+)"', page)):
        assert target in numbers


def test_patients_see_no_mic_table_but_their_allergies(client: TestClient) -> None:
    page = _plan(client, "patient")
    assert "mic-heading" not in page and "dose-facts" not in page
    assert re.search(r"Allergies:</span> [Pp]enicillin", page)


def test_allergies_are_echoed_or_said_to_be_none(client: TestClient) -> None:
    assert re.search(r"Allergies:</span> [Pp]enicillins? \(mild\)", _plan(client))
    case = json.loads(EXAMPLE.read_text())
    case["patient"]["allergies"] = []
    assert "Allergies:</span> none entered" in _plan(client, case=json.dumps(case))


def test_each_option_shows_its_own_review_status(client: TestClient) -> None:
    page = _plan(client)
    options = re.findall(r'<li class="option[^"]*" id="option-\d+">(.*?)</li>\s*(?=<li class="option|</ol>)', page, re.S)
    assert len(options) >= 2
    for option in options:
        assert "Pending review by your advisory board: content updated 4 December 2026." in option


@pytest.fixture
def review_app(tmp_path: Path) -> FastAPI:
    return create_app(make_settings(tmp_path))


def test_an_approved_option_names_who_approved_it_and_when(review_app: FastAPI) -> None:
    with TestClient(review_app) as client:
        page = _plan(client)
        review = review_of(review_app)
        with review.store.writing() as session:
            rita = Accounts().add_user(session, "rita", "reviewer", PASSWORD)
            rob = Accounts().add_user(session, "rob", "reviewer", PASSWORD)
        link = re.search(r'href="(/review\?items=[^"]+)"', page)
        assert link is not None
        ids = parse_qs(urlsplit(html.unescape(link.group(1))).query)["items"][0].split(",")
        assert "idsa-kpc-meropenem-vaborbactam" in ids
        top_ids = [i for i in ids if "meropenem-vaborbactam" in i]
        for item_id in top_ids:
            h = review.store.item(item_id).hash
            review.store.act(item_id, Action.start_review, rita, expected_hash=h)
            review.store.act(item_id, Action.approve, rita, expected_hash=h)
            review.store.act(item_id, Action.approve, rob, expected_hash=h)  # two people, always
        top = _plan(client)
        top = top[top.index('id="option-1"'):top.index('id="option-2"')]
        assert re.search(r"Approved by your advisory board: approved by rita and rob on \d{1,2} \w+ 20\d\d", top)
        second = _plan(client)
        assert "Pending review by your advisory board" in second[second.index('id="option-2"'):]


def test_the_topic_page_walks_the_steps_with_sources(client: TestClient) -> None:
    plan = _plan(client)
    assert 'href="/topics/cre-in-the-icu"' in plan
    page = client.get("/topics/cre-in-the-icu", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert "<h1>CRE in the ICU: the stepwise approach</h1>" in text
    headings = re.findall(r'<h2 id="step-[a-z]+-heading">(.*?)</h2>', text)
    assert [h.split(". ", 1)[1] for h in headings] == [
        "Find the mechanism", "Choose the agent for that mechanism", "Adjust for the site of infection",
        "Avoid the pitfalls", "Dose for the ICU", "Monitor"]
    for part in ('id="review-heading"', "Content last updated", "Which best describes you?", 'id="references-heading"',
                 'class="disclaimer"', "KPC (serine carbapenemase)", "Metallo-beta-lactamase"):
        assert part in text, part
    cited = set(re.findall(r'href="#ref-(\d+)"', text))
    assert cited and cited <= set(re.findall(r'<li id="ref-(\d+)">', text))


def test_the_topic_page_for_patients_keeps_to_patient_wording(client: TestClient) -> None:
    page = client.get("/topics/cre-in-the-icu?audience=patient", headers=HTML)
    assert "cre_audience=patient" in page.headers["set-cookie"]
    text = page.text
    assert "KPC (serine carbapenemase)" not in text  # regimen rationales have no patient wording
    assert "no wording of this part for patients" in text
    # statements.yaml words source control for patients: that wording is shown.
    assert "medicine alone is not enough" in text
    assert 'id="aud-patient" name="audience" value="patient" checked' in text


def test_pages_are_compressed(client: TestClient) -> None:
    response = client.post("/plan", data={"case_json": EXAMPLE.read_text()}, headers={**HTML, "accept-encoding": "gzip"})
    assert response.headers.get("content-encoding") == "gzip"
    assert int(response.headers["content-length"]) < len(response.content) / 3


def test_favicon(client: TestClient) -> None:
    assert re.search(r'rel="icon" href="[^"]*/static/favicon.svg"', client.get("/").text)
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


def test_api_reference_has_language_main_and_heading(client: TestClient) -> None:
    page = client.get("/docs").text
    assert '<html lang="en">' in page
    assert re.search(r"<main>\s*<h1[^>]*>cre-advisor API reference</h1>\s*<div id=\"swagger-ui\">\s*</div>\s*</main>", page)
    assert "cdn." not in page


def test_a_saved_case_prints_its_link(client: TestClient) -> None:
    saved = client.post("/cases", data={"case_json": EXAMPLE.read_text()}, follow_redirects=False)
    page = client.get(saved.headers["location"], headers=HTML).text
    assert re.search(r'<p class="print-only">Case link: http://testserver/cases/[A-Za-z0-9_-]{32}</p>', page)


def test_audience_switch_never_submits_by_itself(client: TestClient) -> None:
    page = _plan(client)
    form = page[page.index('<form class="audience'):page.index("</form>", page.index('<form class="audience'))]
    assert "data-autosubmit" not in form and '<button type="submit" class="secondary">Show</button>' in form
    script = client.get("/static/app.js").text
    assert "requestSubmit" not in script and ".submit(" not in script


def test_agent_page_landmarks_have_distinct_names(client: TestClient) -> None:
    page = client.get("/agents/cefiderocol").text
    labelled = re.findall(r'aria-labelledby="([^"]+)"', page)
    assert len(labelled) == len(set(labelled))
    names = re.findall(r'role="region" aria-label="([^"]+)"', page)
    assert names and len(names) == len(set(names))


def test_form_lists_the_first_agents_and_keeps_the_rest_folded(client: TestClient) -> None:
    page = client.get("/").text
    first = page[page.index('id="sus-caption"'):page.index('<details class="more-agents"')]
    for agent in ("ceftazidime-avibactam", "meropenem-vaborbactam", "imipenem-cilastatin-relebactam", "cefiderocol", "meropenem"):
        assert f'name="sus.{agent}.mic"' in first, agent
    assert re.search(r'<details class="more-agents">\s*<summary>Other agents', page)  # closed: no Tab stops
    assert 'name="sus.amikacin.mic"' in page[page.index('<details class="more-agents"'):]
    # A value for a folded agent opens the list again when the form comes back.
    edit = client.post("/edit", data={"case_json": EXAMPLE.read_text()}).text
    assert '<details class="more-agents" open>' in edit


def _queue(client: TestClient, query: str) -> list[str]:
    page = client.get(f"/review{query}").text
    return re.findall(r'<td><a href="/review/items/[^"]+">([^<]+)</a></td>', page)


@pytest.fixture
def board(review_app: FastAPI) -> Any:
    with TestClient(review_app, base_url="https://testserver") as client:
        review = review_of(review_app)
        with review.store.writing() as session:
            Accounts().add_user(session, "rita", "reviewer", PASSWORD)
        form = client.get("/review/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        client.post("/review/login", data={"name": "rita", "password": PASSWORD, "csrf_token": csrf})
        yield client, review


def test_the_queue_can_be_filtered_and_searched(board: Any) -> None:
    client, review = board
    everything = _queue(client, "")
    assert len(everything) == len(review.items) > 100
    regimens = _queue(client, "?kind=regimen")
    assert regimens and all(review.items[i].kind == "regimen" for i in regimens)
    found = _queue(client, "?q=cefiderocol")
    assert "cefiderocol" in found and len(found) < len(everything)
    assert all("cefiderocol" in json.dumps(review.items[i].payload).casefold() or "cefiderocol" in i for i in found)
    assert _queue(client, "?status=approved") == []
    chosen = _queue(client, "?items=cefiderocol,not-an-item,idsa-kpc-cefiderocol")
    assert sorted(chosen) == ["cefiderocol", "idsa-kpc-cefiderocol"]


def test_an_item_reads_as_fields_with_a_word_diff(board: Any) -> None:
    client, review = board
    item = "idsa-kpc-meropenem-vaborbactam"
    page = client.get(f"/review/items/{item}").text
    assert re.search(r'<tr><th scope="row">Rationale</th><td>Preferred for KPC producers', page)
    assert '<pre tabindex="0"' in page  # the JSON box scrolls by keyboard
    store = review.store  # approved, then one word of the rationale changes in a new release
    with store.writing() as session:
        rob = Accounts().add_user(session, "rob", "reviewer", PASSWORD)
        ria = Accounts().add_user(session, "ria", "reviewer", PASSWORD)
    h = store.item(item).hash
    store.act(item, Action.start_review, rob, expected_hash=h)
    store.act(item, Action.approve, rob, expected_hash=h)
    store.act(item, Action.approve, ria, expected_hash=h)
    old = review.items[item]
    payload = {**old.payload, "rationale": old.payload["rationale"].replace("slightly", "strongly", 1)}
    store.sync({item: make_item(item, "regimen", payload, "2026-12-01")})
    page = client.get(f"/review/items/{item}").text
    assert '<del class="changed-before">slightly</del><ins class="changed-after">strongly</ins>' in page


def test_a_fully_approved_plan_says_who_approved_last(review_app: FastAPI) -> None:
    with TestClient(review_app) as client:
        review = review_of(review_app)
        with review.store.writing() as session:
            rob = Accounts().add_user(session, "rob", "reviewer", PASSWORD)
            ria = Accounts().add_user(session, "ria", "reviewer", PASSWORD)
        for item_id in review.items:
            h = review.store.item(item_id).hash
            review.store.act(item_id, Action.start_review, rob, expected_hash=h)
            review.store.act(item_id, Action.approve, rob, expected_hash=h)
            review.store.act(item_id, Action.approve, ria, expected_hash=h)
        page = _plan(client)
        line = re.search(r'<p class="status-line review-approved">(.*?)</p>', page, re.S)
        assert line is not None
        assert re.search(r"Approved by your advisory board</a> \(latest approval: rob and ria on \d{1,2} \w+ 20\d\d\)", line.group(1))
