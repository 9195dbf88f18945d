"""A clinician's path through a real browser: headless Chromium against a real uvicorn server.

Form -> KPC bloodstream case with CrCl about 40 -> adjusted dose of the top option ->
patient audience without doses -> one printed page. Screenshots go to the test's tmp folder.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from cre_advisor.web.app import create_app
from web_helpers import make_settings

CHROMIUM = Path("/usr/bin/chromium")
DOSE = re.compile(r"\d\s*(mg|g)\b|q\d+h|every \d+ ?h|mL/min", re.IGNORECASE)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(make_settings(tmp_path_factory.mktemp("browser")))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield launched
        launched.close()


def test_kpc_case_from_form_to_patient_view_and_print(base_url: str, browser: object, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})  # type: ignore[attr-defined]
    page.goto(f"{base_url}/")
    page.get_by_label("Age (years)").fill("67")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Weight (kg)").fill("72")
    page.get_by_label("Height (cm)").fill("165")
    page.get_by_label("Serum creatinine").fill("1.4")  # Cockcroft-Gault 38.7 mL/min (worked in web_helpers)
    page.get_by_label("Site of infection").select_option("bloodstream")
    page.get_by_label("Severity").select_option("septic_shock")
    page.get_by_label("Organism").fill("Klebsiella pneumoniae")
    page.get_by_label("Detected (tick below)").check()
    page.get_by_label("KPC", exact=True).check()
    page.get_by_label("Meropenem-vaborbactam category").select_option("S")
    page.get_by_label("Ceftazidime-avibactam category").select_option("S")
    with page.expect_navigation():
        page.get_by_role("button", name="Show the treatment plan").press("Enter")  # keyboard, not mouse

    top = page.locator("#option-1")
    assert "Meropenem-vaborbactam" in top.locator("h3").inner_text()
    dose = top.locator("ul.doses").inner_text()
    # DOSING.md meropenem-vaborbactam at eGFR 30-49: 2 g q8h over 3 h (4 g q8h is the normal-function dose).
    assert re.search(r"IV: 2 g\b.*q8h over 3 h", dose) and "4 g" not in dose
    assert page.get_by_role("heading", name="Pending review by your advisory board").is_visible()
    assert not page.locator("details.trace ol").is_visible()  # the step-by-step trace starts collapsed
    page.locator("details.trace summary").click()
    assert page.locator("details.trace ol").is_visible()
    page.screenshot(path=str(tmp_path / "clinician.png"), full_page=True)

    page.get_by_label("Patient or family").focus()
    with page.expect_navigation():
        page.keyboard.press("Space")  # the switch applies on change (script), or with its Show button
    assert page.get_by_role("heading", level=1).inner_text() == "What the care team is planning"
    main = page.locator("main").inner_text()
    assert not DOSE.search(main), DOSE.search(main)
    assert "given into a vein" in main and "Sources" in main
    assert "Pending review by your advisory board" in main
    page.screenshot(path=str(tmp_path / "patient.png"), full_page=True)

    page.reload()  # the choice is remembered
    with page.expect_navigation():
        page.get_by_label("Clinician").check()
    page.emulate_media(media="print")
    assert not page.locator("form.audience").is_visible() and not page.locator("header.site").is_visible()
    assert page.locator("#option-1").is_visible() and page.locator(".references").is_visible()
    page.screenshot(path=str(tmp_path / "print.png"), full_page=True)
    pdf = page.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf)) == 1, "the chart copy fits one A4 page"
    (tmp_path / "print.pdf").write_bytes(pdf)
    assert (tmp_path / "clinician.png").stat().st_size > 10_000
    page.close()


def test_form_fits_a_phone_screen(base_url: str, browser: object, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    page.goto(f"{base_url}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.screenshot(path=str(tmp_path / "phone.png"))
    page.close()
