"""REST API: every endpoint and every error path; bad input is a 422 naming the field, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from cre_advisor import recommend
from cre_advisor.web.app import create_app
from web_helpers import make_settings

CONTRACT_AGENTS = (  # DESIGN.md "Agent identifiers"
    "ceftazidime-avibactam", "meropenem-vaborbactam", "imipenem-cilastatin-relebactam", "cefiderocol", "aztreonam",
    "aztreonam-avibactam", "meropenem", "imipenem-cilastatin", "ertapenem", "colistin", "polymyxin-b", "amikacin",
    "gentamicin", "tobramycin", "plazomicin", "tigecycline", "eravacycline", "minocycline", "fosfomycin",
    "ciprofloxacin", "levofloxacin", "trimethoprim-sulfamethoxazole", "nitrofurantoin", "metronidazole", "ceftazidime",
    "cefepime", "ceftriaxone", "piperacillin-tazobactam", "ceftolozane-tazobactam",
)


def _locs(response: Any) -> list[list[Any]]:
    return [error["loc"] for error in response.json()["detail"]]


# ---- POST /v1/recommendations ----------------------------------------------------------------
def test_recommendation_is_exactly_the_library_answer(client: TestClient, kpc_case: dict[str, Any]) -> None:
    response = client.post("/v1/recommendations", json=kpc_case)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == recommend(kpc_case).model_dump(mode="json")
    body = response.json()
    assert body["mechanism"]["class"] == "serine_carbapenemase"
    assert body["renal"]["crcl_ml_min"] == pytest.approx(38.7, abs=0.1)  # worked by hand in conftest


def test_recommendation_accepts_brand_names(client: TestClient, kpc_case: dict[str, Any]) -> None:
    kpc_case["isolate"]["susceptibility"] = {"Vabomere": {"interpretation": "S"}}
    assert client.post("/v1/recommendations", json=kpc_case).status_code == 200


@pytest.mark.parametrize(
    ("path", "value", "loc"),
    [
        (("patient", "age_years"), 12, ["body", "patient", "age_years"]),
        (("patient", "serum_creatinine_mg_dl"), -1, ["body", "patient", "serum_creatinine_mg_dl"]),
        (("patient", "weight_kg"), 0, ["body", "patient", "weight_kg"]),
        (("infection", "site"), "lung", ["body", "infection", "site"]),
        (("infection", "severity"), "mild", ["body", "infection", "severity"]),
        (("isolate", "organism"), "Pseudomonas aeruginosa", ["body", "isolate", "organism"]),
        (("isolate", "carbapenemase"), ["XYZ"], ["body", "isolate", "carbapenemase", 0]),
        (("isolate", "breakpoints"), "NOPE-1999", ["body", "isolate", "breakpoints"]),
        (("patient", "unexpected"), 1, ["body", "patient", "unexpected"]),
    ],
)
def test_invalid_case_is_422_naming_the_field(
    client: TestClient, kpc_case: dict[str, Any], path: tuple[str, str], value: Any, loc: list[Any]
) -> None:
    kpc_case[path[0]][path[1]] = value
    response = client.post("/v1/recommendations", json=kpc_case)
    assert response.status_code == 422
    assert loc in _locs(response)


def test_out_of_scope_organism_says_why(client: TestClient, kpc_case: dict[str, Any]) -> None:
    kpc_case["isolate"]["organism"] = "Acinetobacter baumannii"
    response = client.post("/v1/recommendations", json=kpc_case)
    assert response.status_code == 422
    assert "not an Enterobacterales species" in response.json()["detail"][0]["msg"]


def test_unknown_site_lists_the_allowed_values(client: TestClient, kpc_case: dict[str, Any]) -> None:
    kpc_case["infection"]["site"] = "lung"
    message = client.post("/v1/recommendations", json=kpc_case).json()["detail"][0]["msg"]
    assert "bloodstream" in message and "pneumonia" in message


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b'{"patient": ', {"content-type": "application/json"}),
        (b"", {"content-type": "application/json"}),
        (b"[1, 2]", {"content-type": "application/json"}),
        (b"null", {"content-type": "application/json"}),
        (b"patient=1", {"content-type": "application/x-www-form-urlencoded"}),
        ("{\"x\": \"\udcff\"}".encode("utf-8", "surrogatepass"), {"content-type": "application/json"}),
        (b"\xff\xfe{\x01", {"content-type": "application/json"}),
    ],
)
def test_malformed_bodies_are_422(client: TestClient, content: bytes, headers: dict[str, str]) -> None:
    response = client.post("/v1/recommendations", content=content, headers=headers)
    assert response.status_code == 422, response.text


def test_engine_value_error_becomes_422(client: TestClient, kpc_case: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from cre_advisor.web import services

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise ValueError("isolate.susceptibility: contradictory results")

    monkeypatch.setattr(services, "engine_recommend", refuse)
    response = client.post("/v1/recommendations", json=kpc_case)
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "isolate.susceptibility: contradictory results"


# ---- POST /v1/dose ----------------------------------------------------------------------------
def test_dose_for_a_clearance_uses_the_label_band(client: TestClient) -> None:
    # DOSING.md, ceftazidime-avibactam: CrCl 31-50 -> 1.25 g q8h.
    body = client.post("/v1/dose", json={"agent": "Avycaz", "crcl_ml_min": 40}).json()
    assert (body["agent"], body["dose_mg"], body["interval_h"]) == ("ceftazidime-avibactam", 1250, 8)
    assert body["band"] == "CrCl 31-50 mL/min"
    assert body["citations"] and body["renal"]["crcl_ml_min"] == 40


def test_dose_from_patient_values_runs_cockcroft_gault(client: TestClient) -> None:
    # Male, 60 y, 70 kg, no height (actual weight), SCr 1.0: (140-60) x 70 / 72 = 77.8 mL/min.
    body = client.post("/v1/dose", json={
        "agent": "cefiderocol", "age_years": 60, "sex": "male", "weight_kg": 70, "serum_creatinine_mg_dl": 1.0,
    }).json()
    assert body["renal"]["crcl_ml_min"] == pytest.approx(77.8, abs=0.1)
    assert (body["dose_mg"], body["interval_h"]) == (2000, 8)  # DOSING.md cefiderocol 60-119: 2 g q8h


@pytest.mark.parametrize(
    ("request_body", "loc"),
    [
        ({"agent": "aspirin", "crcl_ml_min": 40}, ["body", "agent"]),
        ({"agent": "cefiderocol", "crcl_ml_min": -5}, ["body", "crcl_ml_min"]),
        ({"agent": "cefiderocol", "renal_replacement": "peritoneal"}, ["body", "renal_replacement"]),
        ({"agent": "cefiderocol", "site": "toe"}, ["body", "site"]),
        ({"agent": "cefiderocol", "colour": "red"}, ["body", "colour"]),
        ({"crcl_ml_min": 40}, ["body", "agent"]),
        ({"agent": "meropenem", "crcl_ml_min": 40, "variant": "no-such-variant"}, ["body"]),
        ({"agent": "meropenem", "crcl_ml_min": 40, "serum_creatinine_mg_dl": 1.0}, ["body", "crcl_ml_min"]),
        ({"agent": "meropenem", "serum_creatinine_mg_dl": 1.0, "serum_creatinine_umol_l": 88}, ["body", "serum_creatinine_mg_dl"]),
        ({"agent": "meropenem", "crrt_effluent_l_h": 2}, ["body", "crrt_effluent_l_h"]),
        ({"agent": "meropenem", "crcl_ml_min": 40, "route": "IM"}, ["body", "route"]),
    ],
)
def test_dose_errors_are_422(client: TestClient, request_body: dict[str, Any], loc: list[Any]) -> None:
    response = client.post("/v1/dose", json=request_body)
    assert response.status_code == 422
    assert loc in _locs(response)


# ---- POST /v1/interpret -------------------------------------------------------------------------
def test_interpret_reads_the_eucast_row(client: TestClient) -> None:
    # EUCAST v16.1 Enterobacterales, meropenem (not meningitis): S <= 2, R > 8 mg/L.
    body = client.post("/v1/interpret", json={"agent": "meropenem", "mic": "16", "organism": "K. pneumoniae"}).json()
    assert (body["interpretation"], body["breakpoint_s"], body["breakpoint_r"]) == ("R", 2, 8)
    assert body["organism"] == "Klebsiella pneumoniae"
    low = client.post("/v1/interpret", json={"agent": "meropenem", "mic": "<=0.25", "organism": "E. coli"}).json()
    assert low["interpretation"] == "S"


def test_interpret_applies_expected_resistance(client: TestClient) -> None:
    # EUCAST expected resistant phenotypes: Serratia marcescens is intrinsically resistant to colistin.
    body = client.post("/v1/interpret", json={"agent": "colistin", "mic": "0.5", "organism": "Serratia marcescens"}).json()
    assert body["interpretation"] == "R" and body["source"] == "intrinsic"
    assert body["warnings"]


@pytest.mark.parametrize(
    ("request_body", "loc"),
    [
        ({"agent": "meropenem", "mic": "lots", "organism": "E. coli"}, ["body", "mic"]),
        ({"agent": "meropenem", "mic": "-2", "organism": "E. coli"}, ["body", "mic"]),
        ({"agent": "meropenem", "mic": "2", "organism": "Pseudomonas aeruginosa"}, ["body", "organism"]),
        ({"agent": "meropenem", "mic": "2", "organism": "E. coli", "breakpoints": "NOPE"}, ["body", "breakpoints"]),
        ({"agent": "unobtainium", "mic": "2", "organism": "E. coli"}, ["body", "agent"]),
        ({"agent": "meropenem", "mic": "2", "organism": "E. coli", "site": "toe"}, ["body", "site"]),
        ({"agent": "meropenem", "organism": "E. coli"}, ["body", "mic"]),
    ],
)
def test_interpret_errors_are_422(client: TestClient, request_body: dict[str, Any], loc: list[Any]) -> None:
    response = client.post("/v1/interpret", json=request_body)
    assert response.status_code == 422
    assert loc in _locs(response)


def test_interpret_with_a_known_but_unloaded_table_is_422(client: TestClient) -> None:
    response = client.post("/v1/interpret", json={"agent": "meropenem", "mic": "2", "organism": "E. coli", "breakpoints": "CLSI-2025"})
    assert response.status_code == 422
    assert "CLSI-2025" in response.json()["detail"][0]["msg"]


# ---- agents, references, health ----------------------------------------------------------------
def test_agents_lists_every_contract_agent(client: TestClient) -> None:
    agents = client.get("/v1/agents").json()
    assert set(CONTRACT_AGENTS) <= {a["id"] for a in agents}
    assert all(a["citations"] and a["review_status"] for a in agents)


def test_one_agent_with_its_dose_table_by_name_or_synonym(client: TestClient) -> None:
    body = client.get("/v1/agents/CZA").json()
    assert body["id"] == "ceftazidime-avibactam"
    bands = [row["band"] for row in body["dosing"]["variants"]["default"]["bands"]]
    assert "CrCl 31-50 mL/min" in bands


def test_unknown_agent_is_404_naming_the_known_ones(client: TestClient) -> None:
    response = client.get("/v1/agents/unobtainium")
    assert response.status_code == 404
    assert "cefiderocol" in response.json()["detail"]


def test_references_include_the_guidelines(client: TestClient) -> None:
    ids = {r["id"] for r in client.get("/v1/references").json()}
    assert {"idsa-2024", "escmid-2022", "increment-cpe-2016"} <= ids


def test_healthz(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["knowledge_version"]


def test_healthz_reports_an_unreachable_database(tmp_path: Any) -> None:
    app = create_app(make_settings(tmp_path))
    app.state.database.dispose()
    app.state.database.engine.dispose()

    def broken() -> bool:
        from sqlalchemy.exc import OperationalError

        raise OperationalError("SELECT 1", {}, Exception("gone"))

    app.state.database.ping = broken
    with TestClient(app) as client:
        response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["database"] == "unreachable"


# ---- saved cases -------------------------------------------------------------------------------
def test_saved_case_round_trip(client: TestClient, kpc_case: dict[str, Any]) -> None:
    created = client.post("/v1/cases", json=kpc_case)
    assert created.status_code == 201
    link = created.json()
    assert len(link["id"]) == 32 and link["url"].endswith(f"/cases/{link['id']}")
    stored = client.get(f"/v1/cases/{link['id']}").json()
    assert stored["case"]["isolate"]["carbapenemase"] == ["KPC"]
    assert stored["case"]["patient"]["serum_creatinine_mg_dl"] == 1.4


def test_saved_case_ids_are_distinct(client: TestClient, kpc_case: dict[str, Any]) -> None:
    ids = {client.post("/v1/cases", json=kpc_case).json()["id"] for _ in range(5)}
    assert len(ids) == 5


def test_saved_case_errors(client: TestClient, kpc_case: dict[str, Any]) -> None:
    assert client.get("/v1/cases/short").status_code == 422
    assert client.get("/v1/cases/" + "A" * 32).status_code == 404
    kpc_case["patient"]["age_years"] = 5
    assert client.post("/v1/cases", json=kpc_case).status_code == 422


# ---- documentation and the benchmark route -------------------------------------------------------
def test_openapi_documents_the_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/recommendations", "/v1/dose", "/v1/interpret", "/v1/agents", "/v1/agents/{agent}",
                 "/v1/references", "/healthz", "/v1/cases"):
        assert path in paths
    assert "/v1/_bench/parse" not in paths
    assert client.get("/docs").status_code == 200


def test_bench_route_only_when_enabled(client: TestClient, tmp_path: Any, kpc_case: dict[str, Any]) -> None:
    assert client.post("/v1/_bench/parse", json=kpc_case).status_code in (404, 405)
    with TestClient(create_app(make_settings(tmp_path, bench_routes=True))) as bench:
        assert bench.post("/v1/_bench/parse", json=kpc_case).json() == {"ok": True}
        assert bench.post("/v1/_bench/parse", json={"patient": {}}).status_code == 422
