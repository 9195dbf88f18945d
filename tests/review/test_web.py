"""The review pages and JSON API inside the real application: access control, CSRF, cookies, flow."""

from __future__ import annotations

import re
import shutil
import threading
from dataclasses import replace
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from review_helpers import CHEAP_HASHER, PASSWORD

from cre_advisor.knowledge.loader import default_knowledge
from sqlalchemy import select

from cre_advisor.review.accounts import FAILURES_PER_ACCOUNT, Accounts
from cre_advisor.review.models import LoginAttempt
from cre_advisor.review.content import make_item
from cre_advisor.review.web import review_of, review_states_for
from cre_advisor.settings import DATABASE_FILE, Settings
from cre_advisor.web.app import create_app

ITEM = "idsa-kpc-meropenem-vaborbactam"  # a regimen row of the shipped knowledge base


@pytest.fixture(scope="module")
def template_database(tmp_path_factory) -> Path:
    """A data directory with the release synchronised and four users, copied by every test."""
    directory = tmp_path_factory.mktemp("template")
    application = create_app(Settings.resolve(data_dir=directory, database_url=None))
    review = review_of(application)
    accounts = Accounts(CHEAP_HASHER)
    with review.store.writing() as session:
        for name, role in (("rita", "reviewer"), ("rob", "reviewer"), ("ann", "author"), ("ada", "admin")):
            accounts.add_user(session, name, role, PASSWORD)
    application.state.database.dispose()  # closes the last connection: the WAL is folded into the file
    return directory / DATABASE_FILE


@pytest.fixture
def app(tmp_path, template_database: Path) -> FastAPI:
    shutil.copy(template_database, tmp_path / DATABASE_FILE)
    application = create_app(Settings.resolve(data_dir=tmp_path, database_url=None))
    opened = review_of(application)
    # The server's own hasher would re-hash the cheap test hashes at every sign-in.
    application.state.review = replace(opened, accounts=Accounts(CHEAP_HASHER))
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # https: the session cookie is Secure and would not be sent back over plain http.
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client


def token(app: FastAPI, name: str) -> dict[str, str]:
    with review_of(app).store.writing() as session:
        return {"Authorization": f"Bearer {Accounts.issue_token(session, name, 'tests')}"}


def current_hash(app: FastAPI, item_id: str = ITEM) -> str:
    return review_of(app).store.item(item_id).hash


def approve_by_two(client: TestClient, app: FastAPI) -> None:
    """rita starts the review and approves, rob gives the second approval, all through the API."""
    rita, rob = token(app, "rita"), token(app, "rob")
    for headers, action in ((rita, "start_review"), (rita, "approve"), (rob, "approve")):
        response = client.post(f"/v1/review/items/{ITEM}/actions", headers=headers,
                               json={"action": action, "hash": current_hash(app)})
        assert response.status_code == 200, response.text


def sign_in(client: TestClient, name: str, password: str = PASSWORD):
    form = client.get("/review/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    return client.post("/review/login", data={"name": name, "password": password, "csrf_token": csrf},
                       follow_redirects=False)


def form_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page))


# ---- access control ----------------------------------------------------------------------------
API_CALLS = [
    ("GET", "/v1/review/items", None),
    ("GET", f"/v1/review/items/{ITEM}", None),
    ("POST", f"/v1/review/items/{ITEM}/actions", {"action": "start_review", "hash": "0" * 64}),
    ("GET", "/v1/review/audit.csv", None),
]


@pytest.mark.parametrize(("method", "path", "body"), API_CALLS)
@pytest.mark.parametrize("authorization", [None, "Bearer crea_not-a-real-token", "Basic cml0YTpwdw=="])
def test_api_refuses_anonymous_and_unknown_tokens(client: TestClient, method, path, body, authorization) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = client.request(method, path, json=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", ["/review", f"/review/items/{ITEM}", "/review/audit.csv"])
def test_pages_send_anonymous_visitors_to_sign_in(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/review/login?next=")


def test_anonymous_form_posts_change_nothing(app: FastAPI, client: TestClient) -> None:
    response = client.post(f"/review/items/{ITEM}", data={"action": "start_review", "hash": current_hash(app),
                                                          "version": "1", "csrf_token": "x"})
    assert response.status_code == 401
    assert review_of(app).store.item(ITEM).status == "submitted"


@pytest.mark.parametrize(("name", "action"), [("ann", "start_review"), ("ann", "approve"), ("rita", "resubmit")])
def test_api_refuses_the_wrong_role(app: FastAPI, client: TestClient, name: str, action: str) -> None:
    response = client.post(f"/v1/review/items/{ITEM}/actions", headers=token(app, name),
                           json={"action": action, "hash": current_hash(app), "comment": "x"})
    assert response.status_code == 403
    assert "needs the role" in response.json()["detail"]
    assert review_of(app).store.item(ITEM).status == "submitted"


def test_authors_cannot_export_the_audit_trail(app: FastAPI, client: TestClient) -> None:
    assert client.get("/v1/review/audit.csv", headers=token(app, "ann")).status_code == 403
    sign_in(client, "ann")
    assert client.get("/review/audit.csv").status_code == 403


def test_disabled_users_and_revoked_tokens_are_refused(app: FastAPI, client: TestClient) -> None:
    rita, rob = token(app, "rita"), token(app, "rob")
    store = review_of(app).store
    with store.writing() as session:
        Accounts.set_active(session, "rita", False)
        assert Accounts.revoke_tokens(session, "rob") == 1
    assert client.get("/v1/review/items", headers=rita).status_code == 401
    assert client.get("/v1/review/items", headers=rob).status_code == 401
    assert sign_in(client, "rita").status_code == 401


# ---- sign-in, cookies, CSRF --------------------------------------------------------------------
def test_sign_in_sets_a_secure_http_only_same_site_cookie(client: TestClient) -> None:
    response = sign_in(client, "rita")
    assert response.status_code == 303
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("cre_review_session="))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"secure", "httponly", "samesite=lax", "path=/review"} <= flags
    assert client.get("/review").status_code == 200


def test_wrong_password_gets_no_session(client: TestClient) -> None:
    response = sign_in(client, "rita", "not the password")
    assert response.status_code == 401
    assert "cre_review_session" not in response.headers.get("set-cookie", "")
    assert client.get("/review", follow_redirects=False).status_code == 303


def test_sign_in_without_the_form_token_is_refused(client: TestClient) -> None:
    response = client.post("/review/login", data={"name": "rita", "password": PASSWORD, "csrf_token": "guess"})
    assert response.status_code == 403


def test_sign_in_never_redirects_off_site(client: TestClient) -> None:
    form = client.get("/review/login?next=https://evil.example/")
    csrf = form_fields(form.text)["csrf_token"]
    response = client.post("/review/login", follow_redirects=False,
                           data={"name": "rita", "password": PASSWORD, "csrf_token": csrf, "next": "//evil.example"})
    assert response.headers["location"] == "/review"


@pytest.mark.parametrize("csrf", [None, "", "forged-token"])
def test_forms_without_the_session_csrf_token_are_refused(app: FastAPI, client: TestClient, csrf) -> None:
    sign_in(client, "rita")
    data = {"action": "start_review", "hash": current_hash(app), "version": "1"}
    if csrf is not None:
        data["csrf_token"] = csrf
    assert client.post(f"/review/items/{ITEM}", data=data).status_code == 403
    assert review_of(app).store.item(ITEM).status == "submitted"


def test_sign_out_ends_the_session_on_the_server(client: TestClient) -> None:
    sign_in(client, "rita")
    old_cookie = client.cookies.get("cre_review_session")
    csrf = form_fields(client.get("/review").text)["csrf_token"]
    assert client.post("/review/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    client.cookies.set("cre_review_session", old_cookie, domain="testserver.local", path="/review")
    assert client.get("/review", follow_redirects=False).status_code == 303


def test_review_pages_cannot_be_framed_or_cached(client: TestClient) -> None:
    sign_in(client, "rita")
    headers = client.get(f"/review/items/{ITEM}").headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    policy = headers["content-security-policy"]
    for directive in ("default-src 'none'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"):
        assert directive in policy
    assert "unsafe-inline" not in policy and "<style" not in client.get(f"/review/items/{ITEM}").text
    assert headers["cache-control"] == "no-store"
    assert client.get("/review/review.css").headers["content-type"].startswith("text/css")


def test_the_api_sends_nosniff_a_deny_all_policy_and_no_store(app: FastAPI, client: TestClient) -> None:
    headers = client.get("/v1/review/items", headers=token(app, "rita")).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"].startswith("default-src 'none'")
    assert headers["cache-control"] == "no-store"


def test_a_sign_in_form_token_works_once(client: TestClient) -> None:
    form = client.get("/review/login")
    data = {"name": "rita", "password": PASSWORD, "csrf_token": form_fields(form.text)["csrf_token"]}
    assert client.post("/review/login", data=data, follow_redirects=False).status_code == 303
    client.cookies.set("cre_review_login_csrf", data["csrf_token"], domain="testserver.local", path="/review/login")
    replayed = client.post("/review/login", data=data, follow_redirects=False)  # same cookie, same token
    assert replayed.status_code == 403 and "already used" in replayed.json()["detail"]


def test_sign_in_locks_out_after_repeated_failures_and_audits_it(app: FastAPI, client: TestClient) -> None:
    for _ in range(FAILURES_PER_ACCOUNT):
        assert sign_in(client, "rita", "wrong password here").status_code == 401
    locked = sign_in(client, "rita")  # the right password, but too late
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text and "locked until" in locked.text
    assert int(locked.headers["retry-after"]) > 0
    assert sign_in(client, "rob").status_code == 303  # another account from elsewhere is not affected
    with review_of(app).store.reading() as session:
        outcomes = [a.outcome for a in session.scalars(select(LoginAttempt).where(LoginAttempt.name == "rita"))]
    assert outcomes == ["failed"] * FAILURES_PER_ACCOUNT + ["locked"]


def test_a_login_flood_does_not_block_other_writes(app: FastAPI) -> None:
    """Wrong passwords from 8 clients while a reviewer acts: no 500, and every review action is applied.

    With a slow (realistic) hasher, a password check inside the write transaction held SQLite's
    write lock for its whole duration; checked outside, the reviewer's writes go through.
    """
    review = review_of(app)
    app.state.review = replace(review, accounts=Accounts())  # the server's real, slow argon2 parameters
    statuses: list[int] = []
    stop = threading.Event()

    def flood(n: int) -> None:
        with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as attacker:
            while not stop.is_set():
                statuses.append(sign_in(attacker, f"user{n}", "wrong password here").status_code)

    threads = [threading.Thread(target=flood, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    try:
        with TestClient(app, base_url="https://testserver") as reviewer:
            approve_by_two(reviewer, app)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert statuses and set(statuses) <= {401, 429}
    assert review_of(app).store.item(ITEM).status == "approved"


# ---- the workflow through the pages ------------------------------------------------------------
def act_on_page(client: TestClient, action: str, comment: str = ""):
    page = client.get(f"/review/items/{ITEM}")
    fields = form_fields(page.text)
    return client.post(f"/review/items/{ITEM}", data={**fields, "action": action, "comment": comment},
                       follow_redirects=False)


def test_review_and_approve_through_the_pages_then_lapse_on_change(app: FastAPI, client: TestClient) -> None:
    sign_in(client, "rita")
    queue = client.get("/review")
    assert ITEM in queue.text and "Submitted" in queue.text
    assert act_on_page(client, "start_review").status_code == 303
    assert act_on_page(client, "approve").status_code == 303
    page = client.get(f"/review/items/{ITEM}").text
    assert "Under review" in page and "(1 of 2 distinct reviewers needed)" in page
    again = act_on_page(client, "approve")  # the same person cannot be the second approver
    assert again.status_code == 409 and "has already approved this version" in again.text
    assert review_states_for(app)[ITEM] == "under_review"
    sign_in(client, "rob")
    assert act_on_page(client, "approve").status_code == 303
    page = client.get(f"/review/items/{ITEM}").text
    assert "Approved" in page and "(2 of 2 distinct reviewers needed)" in page
    assert re.search(r"rita on \d{4}-\d\d-\d\d \d\d:\d\d UTC; rob on", page)
    assert review_states_for(app)[ITEM] == "approved"

    # A new release edits the rationale of this regimen row.
    review = review_of(app)
    old = review.items[ITEM]
    payload = {**old.payload, "rationale": old.payload["rationale"] + " Reviewed again."}
    review.store.sync({ITEM: make_item(ITEM, "regimen", payload, "2026-12-01")})
    page = client.get(f"/review/items/{ITEM}").text
    assert "What changed since the approved version" in page
    assert "<code>rationale</code>" in page and "Reviewed again." in page
    assert "that approval no longer applies" in page
    assert review_states_for(app)[ITEM] == "submitted"


def test_item_page_names_its_item_and_posts_back_to_it(client: TestClient) -> None:
    sign_in(client, "rita")
    page = client.get(f"/review/items/{ITEM}").text
    assert f"<title>{ITEM} · cre-advisor</title>" in page and f"<h1>{ITEM}</h1>" in page
    assert f'<form method="post" action="/review/items/{ITEM}">' in page


def test_request_changes_needs_a_comment_on_the_page(client: TestClient) -> None:
    sign_in(client, "rita")
    act_on_page(client, "start_review")
    response = act_on_page(client, "request_changes", comment="")
    assert response.status_code == 422
    assert "needs a comment" in response.text
    assert act_on_page(client, "request_changes", comment="cite the trial").status_code == 303


def test_four_eyes_on_the_pages(app: FastAPI, client: TestClient) -> None:
    sign_in(client, "ada")
    act_on_page(client, "start_review")
    act_on_page(client, "request_changes", comment="unclear")
    act_on_page(client, "resubmit", comment="clarified")
    act_on_page(client, "start_review")
    page = client.get(f"/review/items/{ITEM}").text
    assert "You submitted this version" in page
    response = act_on_page(client, "approve")
    assert response.status_code == 409
    assert "cannot approve it" in response.text
    assert review_of(app).store.item(ITEM).status == "under_review"


def test_a_stale_page_cannot_approve(app: FastAPI, client: TestClient) -> None:
    sign_in(client, "rita")
    act_on_page(client, "start_review")
    stale = form_fields(client.get(f"/review/items/{ITEM}").text)
    client.post(f"/v1/review/items/{ITEM}/actions", headers=token(app, "rob"),
                json={"action": "request_changes", "hash": current_hash(app), "comment": "wrong site"})
    response = client.post(f"/review/items/{ITEM}", data={**stale, "action": "approve"})
    assert response.status_code == 409
    assert review_of(app).store.item(ITEM).status == "changes_requested"


def test_policy_page_is_public_and_explains_the_rules(client: TestClient) -> None:
    page = client.get("/review/policy")
    assert page.status_code == 200
    for rule in ("Nobody can approve a version they submitted", "returns to <strong>Submitted</strong>",
                 "strict mode", "audit trail", "does not replace"):
        assert rule in page.text


# ---- the JSON API ------------------------------------------------------------------------------
def test_api_round_trip(app: FastAPI, client: TestClient) -> None:
    rita = token(app, "rita")
    items = client.get("/v1/review/items", headers=rita).json()
    assert {i["id"] for i in items} == set(review_of(app).items)
    h = current_hash(app)
    started = client.post(f"/v1/review/items/{ITEM}/actions", headers=rita, json={"action": "start_review", "hash": h})
    assert started.status_code == 200 and started.json()["status"] == "under_review"
    again = client.post(f"/v1/review/items/{ITEM}/actions", headers=rita, json={"action": "start_review", "hash": h})
    assert again.status_code == 409
    detail = client.get(f"/v1/review/items/{ITEM}", headers=rita).json()
    assert detail["payload"]["id"] == ITEM
    assert [(e["action"], e["outcome"]) for e in detail["history"]] == [
        ("released", "applied"), ("start_review", "applied"), ("start_review", "refused")]
    csv_text = client.get("/v1/review/audit.csv", headers=rita).text
    assert csv_text.startswith("id,at,item_id,actor,action,from_status,to_status,hash,outcome,comment,reason\n")
    assert f",{ITEM},rita,start_review,submitted,under_review,{h},applied," in csv_text


@pytest.mark.parametrize(("body", "status"), [
    ({"action": "publish", "hash": "0" * 64}, 422),
    ({"action": "start_review", "hash": "not-a-hash"}, 422),
    ({"action": "start_review"}, 422),
    ({"action": "start_review", "hash": "0" * 64, "comment": "nul \x00 byte"}, 422),
])
def test_api_names_bad_input(app: FastAPI, client: TestClient, body, status) -> None:
    response = client.post(f"/v1/review/items/{ITEM}/actions", headers=token(app, "rita"), json=body)
    assert response.status_code == status


def test_api_unknown_item_is_404(app: FastAPI, client: TestClient) -> None:
    response = client.post("/v1/review/items/no-such-item/actions", headers=token(app, "rita"),
                           json={"action": "start_review", "hash": "0" * 64})
    assert response.status_code == 404


def test_engine_mapping_covers_every_item_the_engine_reports_on(app: FastAPI, client: TestClient) -> None:
    states = review_states_for(app)
    assert set(default_knowledge().items) <= set(states)
    assert set(states.values()) == {"submitted"}
    approve_by_two(client, app)
    assert review_states_for(app)[ITEM] == "approved"


@pytest.mark.postgres
def test_the_server_runs_its_review_on_postgresql(postgres_schema_url: str, tmp_path) -> None:
    application = create_app(Settings.resolve(data_dir=tmp_path, database_url=postgres_schema_url))
    assert application.state.database.engine.dialect.name == "postgresql"
    review = review_of(application)
    with review.store.writing() as session:
        Accounts(CHEAP_HASHER).add_user(session, "rita", "reviewer", PASSWORD)
        Accounts(CHEAP_HASHER).add_user(session, "rob", "reviewer", PASSWORD)
    with TestClient(application, base_url="https://testserver") as client:
        approve_by_two(client, application)
        assert review_states_for(application)[ITEM] == "approved"
        assert f",{ITEM},rob,approve,under_review,approved," in client.get("/v1/review/audit.csv",
                                                                            headers=token(application, "rob")).text
