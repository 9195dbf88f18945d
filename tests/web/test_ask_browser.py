"""The follow-up box in a real browser (issue 17 item 6): a phone-sized Chromium asks about the
case on screen in ward shorthand and gets this patient's answer on the first screen.

The case is posted the way the plan page's follow-up box posts it (question + hidden case JSON).
"""

from __future__ import annotations

import json
from pathlib import Path

from test_web_browser import CHROMIUM, base_url, browser, pytestmark  # noqa: F401  (shared fixtures and marks)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "kpc-bacteremia.json"
PHONE = {"width": 390, "height": 844}


def _ask(page: object, base: str, question: str) -> None:
    """Post the follow-up form as the plan page does (its hidden case field and the question)."""
    case_json = json.dumps(json.loads(EXAMPLE.read_text()))
    page.goto(f"{base}/")  # type: ignore[attr-defined]
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.evaluate(  # type: ignore[attr-defined]
            """([question, caseJson]) => {
                const form = document.createElement('form');
                form.method = 'post'; form.action = '/ask';
                for (const [name, value] of [['question', question], ['case_json', caseJson]]) {
                    const input = document.createElement('input');
                    input.type = 'hidden'; input.name = name; input.value = value; form.appendChild(input);
                }
                document.body.appendChild(form); form.submit();
            }""",
            [question, case_json],
        )


def test_what_if_dialysis_then_an_interval_question_on_a_phone(base_url: str, browser: object, tmp_path: Path) -> None:
    context = browser.new_context(viewport=PHONE, bypass_csp=True)  # type: ignore[attr-defined]
    page = context.new_page()
    _ask(page, base_url, "What if she goes on dialysis?")
    answer = page.locator("section[aria-labelledby='patient-heading']")
    assert "Meropenem-vaborbactam IV on intermittent haemodialysis" in answer.inner_text()
    assert answer.bounding_box()["y"] < PHONE["height"], "this patient's answer starts on the first screen"
    assert "Not found in the knowledge base" not in page.locator("main").inner_text()
    page.screenshot(path=str(tmp_path / "dialysis.png"), full_page=True)

    box = page.get_by_label("Your question")
    box.fill("gent q24 or q48?")
    with page.expect_navigation():
        box.press("Enter")  # keyboard only
    text = page.locator("section[aria-labelledby='patient-heading']").inner_text()
    assert "Gentamicin" in text and "Meropenem-vaborbactam" not in text
    assert "gent = Gentamicin" in page.locator("main").inner_text()
    page.screenshot(path=str(tmp_path / "interval.png"), full_page=True)
    context.close()
