"""The hospital's CDS Hooks configuration: trusted EHR clients, links, local codes, card policy.

Read from the YAML file named by CRE_ADVISOR_CDS_CONFIG when the app is made (`cre-advisor
serve` stops at start, naming the file and the key, when the file is unreadable or a key is
unknown or invalid). Without that file there is no trusted client, so every call, discovery
included, is refused with 401. Unsigned calls are accepted only with
`development_unsigned: true` (or CRE_ADVISOR_CDS_DEV_UNSIGNED=1), and even then only when both
the server and the caller are on the loopback interface.

Example (cds-config.yaml):

    public_base_url: https://cre-advisor.hospital.example
    clients:
      - iss: https://ehr.hospital.example
        jku: [https://ehr.hospital.example/.well-known/jwks.json]
    concordant_cards: false
    cors_origins: [https://sandbox.cds-hooks.org]   # browser-based clients; "*" allows any origin
    smart_client_id: cre-advisor                     # cards get a SMART launch link beside the plain one
    smart_issuers: [https://fhir.hospital.example/r4]
    local_codes:
      susceptibility_mic:
        - {system: "http://lab.hospital.example/codes", code: "CZA-MIC", agent: ceftazidime-avibactam}
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cre_advisor.fhir.codes import LocalCodes
from cre_advisor.knowledge.yaml_files import load_yaml
from cre_advisor.security.client_tokens import TrustedClient

CONFIG_ENV = "CRE_ADVISOR_CDS_CONFIG"
DEV_UNSIGNED_ENV = "CRE_ADVISOR_CDS_DEV_UNSIGNED"
CARDS_FILE = Path(__file__).with_name("cards.yaml")


class CdsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    public_base_url: str | None = Field(
        default=None,
        description="The URL the EHR calls (scheme://host[:port][/prefix]); JWT aud and card links use it. "
        "Without it, the URL of the incoming request is used.",
    )
    clients: tuple[TrustedClient, ...] = ()
    development_unsigned: bool = Field(default=False, description="Accept unsigned calls on loopback (development only).")
    concordant_cards: bool = Field(default=False, description="Also send an info card when a draft order matches the plan.")
    local_codes: LocalCodes = LocalCodes()
    fhir_timeout_s: float = Field(default=3.0, gt=0, le=30, description="Per request to the EHR's FHIR server.")
    max_token_lifetime_s: float = Field(default=3600, gt=0, le=86400)
    smart_client_id: str | None = Field(
        default=None, min_length=1,
        description="This service's client_id at the EHR's SMART authorization server; cards then carry a smart link.",
    )
    smart_issuers: tuple[str, ...] = Field(default=(), description="FHIR servers (iss) a SMART launch may come from.")
    cors_origins: tuple[str, ...] = Field(
        default=(), description="Origins of browser-based CDS clients allowed by CORS (scheme://host[:port]), or '*'.",
    )

    @field_validator("smart_issuers")
    @classmethod
    def _issuers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not issuer.startswith("https://") for issuer in value):
            raise ValueError("smart_issuers must be https URLs of FHIR servers")
        return tuple(issuer.rstrip("/") for issuer in value)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            scheme, _, rest = origin.partition("://")
            if origin != "*" and (scheme not in ("http", "https") or not rest or "/" in rest):
                raise ValueError(f"cors_origins: '{origin}' is not an origin (scheme://host[:port], no path) or '*'")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError("public_base_url must be an absolute http(s) URL")
        return value.rstrip("/")


def load_cds_config(path: str | Path | None = None) -> CdsConfig:
    """The configuration from `path`, else from CRE_ADVISOR_CDS_CONFIG, else the empty one."""
    chosen = path or os.environ.get(CONFIG_ENV)
    data: dict[str, Any] = {}
    if chosen:
        try:
            with Path(chosen).open(encoding="utf-8") as handle:
                data = load_yaml(handle) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ValueError(f"CDS configuration {chosen}: {error}") from error
        if not isinstance(data, dict):
            raise ValueError(f"CDS configuration {chosen}: expected a mapping of keys, got {type(data).__name__}")
    if os.environ.get(DEV_UNSIGNED_ENV, "").strip().lower() in ("1", "true", "yes"):
        data["development_unsigned"] = True
    try:
        return CdsConfig.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        hint = f" (known keys: {', '.join(CdsConfig.model_fields)})" if first["type"] == "extra_forbidden" and len(first["loc"]) == 1 else ""
        raise ValueError(f"CDS configuration {chosen or '(environment)'}: {where}: {first['msg']}{hint}") from error


@cache
def card_settings() -> dict[str, Any]:
    """cards.yaml: source, topics and override reasons (read once)."""
    with CARDS_FILE.open(encoding="utf-8") as handle:
        return load_yaml(handle)
