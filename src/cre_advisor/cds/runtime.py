"""One CDS Hooks runtime per application: configuration, code maps, token verifier, HTTP client.

Built on first use from the environment (`CdsRuntime.from_environment`) and kept on
`app.state.cds`; tests build one with their own configuration and an httpx transport.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from cre_advisor.fhir.codes import CodeMaps, shipped_code_maps
from cre_advisor.cds.config import CdsConfig, load_cds_config
from cre_advisor.security.client_tokens import ClientTokenVerifier


@dataclass
class CdsRuntime:
    config: CdsConfig
    codes: CodeMaps
    http: httpx.AsyncClient
    verifier: ClientTokenVerifier

    @classmethod
    def build(cls, config: CdsConfig, transport: httpx.AsyncBaseTransport | None = None) -> CdsRuntime:
        http = httpx.AsyncClient(transport=transport, follow_redirects=False)
        verifier = ClientTokenVerifier(config.clients, http, max_lifetime_s=config.max_token_lifetime_s)
        return cls(config=config, codes=shipped_code_maps().with_local(config.local_codes), http=http, verifier=verifier)

    @classmethod
    def from_environment(cls) -> CdsRuntime:
        return cls.build(load_cds_config())
