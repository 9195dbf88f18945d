"""Issue 13 item 6: the nurse view reads as one choice for the prescriber, not as several orders."""

from __future__ import annotations

from pathlib import Path

import yaml

from cre_advisor import recommend, render

CASES = Path(__file__).parent / "cases"


def _nurse(case_file: str) -> tuple[str, int]:
    rec = recommend(yaml.safe_load((CASES / case_file).read_text(encoding="utf-8"))["case"])
    return render.markdown(rec, "nurse"), len(rec.options)


def test_several_options_are_one_choice_with_the_first_given_in_full() -> None:
    text, count = _nurse("kpc-mev-imr-offered.yaml")
    assert count > 1
    assert "the prescriber chooses one" in text
    orders = [line for line in text.splitlines() if line.startswith("- Give ")]
    assert len(orders) == 1 and "Meropenem-vaborbactam" in orders[0]  # option 1 only, written as what to give
    assert text.count("Only if the prescriber chooses this option instead") == count - 1


def test_a_single_option_needs_no_choice() -> None:
    text, count = _nurse("cystitis-single-dose-aminoglycoside.yaml")
    assert count == 1
    assert "prescriber chooses" not in text
    assert any(line.startswith("- Give Amikacin") for line in text.splitlines())
