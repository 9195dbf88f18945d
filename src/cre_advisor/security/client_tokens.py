"""Verifies the JWT an EHR signs for each CDS Hooks call (CDS Hooks 2.0, "Trusting CDS Clients").

A token is accepted only when all of these hold:
- header: `alg` ES384, RS384 or ES256 (the public CDS Hooks sandbox signs with ES256; never
  `none`, never a symmetric HMAC), `typ` "JWT", a `kid`;
- `iss` is a configured trusted client; its keys come from the configuration (inline JWKS) or
  from a `jku` URL that is itself on that client's allowlist;
- the signature verifies with the key named by `kid`, of the type (and EC curve) the algorithm
  needs. A `kid` missing from a JWK Set fetched by URL refetches that set at once (at most once
  per `jwks_refetch_s` per URL), so a client's rotated key works without waiting for the cache;
- `aud` is exactly the URL that was called; `exp`, `iat` and `jti` are present, the token has
  not expired, was not issued in the future, and lives no longer than the configured maximum;
- its `jti` has not been seen from that issuer while the token is still valid (no replay).

Failures raise `TokenRejected`: 401 when the token does not authenticate, 403 when a valid-looking
token comes from an issuer or key URL the server does not trust. Nothing here logs tokens.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from pydantic import BaseModel, ConfigDict, Field, model_validator

ALLOWED_ALGORITHMS = ("ES384", "RS384", "ES256")
_KEY_TYPE = {"ES384": "EC", "RS384": "RSA", "ES256": "EC"}
_CURVE = {"ES384": "P-384", "ES256": "P-256"}
_REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti"]


class TokenRejected(Exception):
    """Why a call's token was refused, and the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class TrustedClient(BaseModel):
    """A CDS client (EHR) allowed to call: its issuer and where its public keys come from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    iss: str = Field(min_length=1, description="The issuer URI the client puts in `iss`, compared exactly.")
    name: str | None = None
    jwks: dict[str, Any] | None = Field(default=None, description="The client's JWK Set, given inline.")
    jku: tuple[str, ...] = Field(default=(), description="JWK Set URLs the client may name in its `jku` header.")

    @model_validator(mode="after")
    def _has_keys(self) -> TrustedClient:
        if self.jwks is None and not self.jku:
            raise ValueError(f"trusted client {self.iss}: give its keys as jwks (inline) or jku (allowed URLs)")
        if self.jwks is not None and not isinstance(self.jwks.get("keys"), list):
            raise ValueError(f"trusted client {self.iss}: jwks must be a JWK Set, an object with a 'keys' list")
        return self


@dataclass(frozen=True)
class VerifiedClient:
    """Who called, once the token has been verified."""

    iss: str
    kid: str
    jti: str
    tenant: str | None


class ReplayCache:
    """Token ids seen per issuer, each kept until its token expires (per process)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def first_use(self, iss: str, jti: str, keep_until: float, now: float) -> bool:
        """Record the id; False when it was already used and has not yet expired."""
        with self._lock:
            if len(self._seen) > 1024:
                self._seen = {k: t for k, t in self._seen.items() if t > now}
            previous = self._seen.get((iss, jti))
            if previous is not None and previous > now:
                return False
            self._seen[(iss, jti)] = keep_until
            return True


class ClientTokenVerifier:
    """Checks CDS client tokens against the trusted clients; fetches allowed JWK Sets by URL."""

    def __init__(
        self,
        clients: tuple[TrustedClient, ...],
        http: httpx.AsyncClient,
        *,
        leeway_s: float = 30.0,
        max_lifetime_s: float = 3600.0,
        jwks_ttl_s: float = 300.0,
        jwks_timeout_s: float = 2.0,
        jwks_refetch_s: float = 10.0,
    ) -> None:
        self.clients = {client.iss: client for client in clients}
        self.http = http
        self.leeway_s = leeway_s
        self.max_lifetime_s = max_lifetime_s
        self.jwks_ttl_s = jwks_ttl_s
        self.jwks_timeout_s = jwks_timeout_s
        self.jwks_refetch_s = jwks_refetch_s
        self.replays = ReplayCache()
        self._jwks: dict[str, tuple[float, dict[str, Any]]] = {}
        self._fetched_at: dict[str, float] = {}
        self._fetch_lock = asyncio.Lock()

    async def verify(self, token: str, audience: str, now: float | None = None) -> VerifiedClient:
        now = time.time() if now is None else now
        header = self._header(token)
        alg, kid = header["alg"], header["kid"]
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as error:
            raise TokenRejected(401, f"token payload unreadable: {error}") from error
        iss = unverified.get("iss")
        client = self.clients.get(iss) if isinstance(iss, str) else None
        if client is None:
            raise TokenRejected(403, f"issuer {iss!r} is not a trusted CDS client")
        jwks, url = await self._client_keys(client, header.get("jku"))
        if url is not None and not self._has_kid(jwks, kid) and self._may_refetch(url):
            jwks = await self._fetch_jwks(url, refresh=True)  # the client may have rotated its keys
        key = self._signing_key(jwks, kid, alg)
        try:
            claims = jwt.decode(
                token, key, algorithms=[alg], audience=audience, issuer=client.iss,
                options={"require": _REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.InvalidAudienceError as error:
            raise TokenRejected(401, f"token aud does not name this endpoint ({audience})") from error
        except jwt.PyJWTError as error:
            raise TokenRejected(401, f"token rejected: {error}") from error
        exp, iat, jti = claims["exp"], claims["iat"], claims["jti"]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (exp, iat)):
            raise TokenRejected(401, "token exp and iat must be numbers of seconds")
        if not isinstance(jti, str) or not jti:
            raise TokenRejected(401, "token jti must be a non-empty string")
        if exp <= now - self.leeway_s:
            raise TokenRejected(401, "token expired")
        if iat > now + self.leeway_s:
            raise TokenRejected(401, "token issued in the future (iat)")
        nbf = claims.get("nbf")
        if isinstance(nbf, (int, float)) and nbf > now + self.leeway_s:
            raise TokenRejected(401, "token not valid yet (nbf)")
        if exp - iat > self.max_lifetime_s:
            raise TokenRejected(401, f"token lifetime {exp - iat:.0f} s exceeds the {self.max_lifetime_s:.0f} s allowed")
        if not self.replays.first_use(client.iss, jti, exp + self.leeway_s, now):
            raise TokenRejected(401, "token jti already used (replay)")
        tenant = claims.get("tenant")
        return VerifiedClient(iss=client.iss, kid=kid, jti=jti, tenant=tenant if isinstance(tenant, str) else None)

    # ---- steps ----------------------------------------------------------------------------

    @staticmethod
    def _header(token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenRejected(401, f"not a JWT: {error}") from error
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise TokenRejected(401, f"alg {alg!r} not accepted; allowed: {', '.join(ALLOWED_ALGORITHMS)}")
        if header.get("typ") != "JWT":
            raise TokenRejected(401, "typ header must be 'JWT'")
        if not isinstance(header.get("kid"), str) or not header["kid"]:
            raise TokenRejected(401, "kid header is required")
        return header

    async def _client_keys(self, client: TrustedClient, jku: Any) -> tuple[dict[str, Any], str | None]:
        """The client's JWK Set and the URL it came from (None for keys given inline)."""
        if jku is None:
            if client.jwks is not None:
                return client.jwks, None
            if len(client.jku) == 1:
                return await self._fetch_jwks(client.jku[0]), client.jku[0]
            raise TokenRejected(401, "token has no jku and the client's keys are not configured inline")
        if jku not in client.jku:
            raise TokenRejected(403, f"jku {jku!r} is not on the allowlist for {client.iss}")
        return await self._fetch_jwks(jku), jku

    @staticmethod
    def _has_kid(jwks: dict[str, Any], kid: str) -> bool:
        return any(isinstance(k, dict) and k.get("kid") == kid for k in jwks["keys"])

    def _may_refetch(self, url: str) -> bool:
        """At most one early refetch per URL per `jwks_refetch_s`: unknown kids cannot flood the client."""
        return time.monotonic() - self._fetched_at.get(url, float("-inf")) >= self.jwks_refetch_s

    async def _fetch_jwks(self, url: str, refresh: bool = False) -> dict[str, Any]:
        cached = self._jwks.get(url)
        if not refresh and cached is not None and cached[0] > time.monotonic():
            return cached[1]
        async with self._fetch_lock:
            if refresh and not self._may_refetch(url) and cached is not None:  # another call just refetched
                return self._jwks[url][1]
            self._fetched_at[url] = time.monotonic()
            try:
                response = await self.http.get(url, timeout=self.jwks_timeout_s)
                response.raise_for_status()
                jwks = response.json()
            except (httpx.HTTPError, ValueError) as error:
                raise TokenRejected(401, f"could not fetch the client's JWK Set from {url}: {error}") from error
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise TokenRejected(401, f"{url} did not return a JWK Set")
        self._jwks[url] = (time.monotonic() + self.jwks_ttl_s, jwks)
        return jwks

    @staticmethod
    def _signing_key(jwks: dict[str, Any], kid: str, alg: str) -> Any:
        matches = [k for k in jwks["keys"] if isinstance(k, dict) and k.get("kid") == kid]
        if not matches:
            raise TokenRejected(401, f"no key with kid {kid!r} in the client's JWK Set")
        jwk = matches[0]
        if jwk.get("kty") != _KEY_TYPE[alg] or jwk.get("alg", alg) != alg or jwk.get("crv") != _CURVE.get(alg, jwk.get("crv")):
            raise TokenRejected(401, f"key {kid!r} is not a {_KEY_TYPE[alg]} key for {alg}")
        try:
            return jwt.PyJWK(jwk, algorithm=alg).key
        except jwt.PyJWTError as error:
            raise TokenRejected(401, f"key {kid!r} unusable: {error}") from error

