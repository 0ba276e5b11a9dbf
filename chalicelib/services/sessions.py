"""Who is calling: access tokens (JWT) in, a `Caller` out; refresh-token families with rotation and reuse detection.

Access tokens are HS256 JWTs (algorithm pinned here, never taken from the token) signed with
`secrets.purpose_key("jwt")`: `iss=taskhall`, `aud=taskhall-api`, `sub`, `role`, `sv` (the user's session
version), `fam` (the refresh family), `iat`, `exp` (10 minutes; anything claiming more than 15 is refused).
Time is checked against the stage clock, not PyJWT's wall clock, so `POST /v1/sandbox/clock` ages tokens too.

Authentication costs at most one GetItem — the user item, for `status` and `sv` — and usually none: the
result is cached in the process for `STATE_CACHE_S` seconds of stage time. A freeze, unfreeze or password
change invalidates the entry in the process that made it, and reaches every other warm process within
`STATE_CACHE_S` (docs/decisions/0021-tokens-sessions-and-freezes.md weighs this against a read per request).

Refresh tokens are opaque (`<user id>.<family id>.<random>`), stored as SHA-256 in the family item; each
refresh rotates them, and presenting a rotated-out token revokes the whole family (RFC 9700 §4.14.2).

Merchant servers authenticate by request signature instead (`X-Taskhall-Merchant…`): the web layer sends
those requests to `services/signing.py` on the routes that accept them; anywhere else they are refused here.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.adapters import clock, ids, secrets
from chalicelib.adapters.log import logger
from chalicelib.domain.errors import Unauthorized
from chalicelib.domain.roles import ALL_ROLES, Caller
from chalicelib.store import sessions as session_store
from chalicelib.store import users as user_store

if TYPE_CHECKING:
    from chalicelib.handlers.web import RequestContext

ISSUER = "taskhall"
AUDIENCE = "taskhall-api"
ALGORITHM = "HS256"
ACCESS_TTL_S = 600
MAX_ACCESS_TTL_S = 900
CLOCK_SKEW_S = 30
REFRESH_LIFETIME_S = 30 * 86400
STATE_CACHE_S = 10
STATE_CACHE_MAX = 20_000
SIGNATURE_HEADER = "x-taskhall-merchant"

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="taskhall", error="invalid_token"'}


def _invalid() -> Unauthorized:
    return Unauthorized("TOKEN_INVALID", "登录凭证无效，请重新登录", headers=_CHALLENGE)


def _expired() -> Unauthorized:
    return Unauthorized("TOKEN_EXPIRED", "登录已过期，请刷新凭证或重新登录", headers=_CHALLENGE)


def _refresh_invalid() -> Unauthorized:
    return Unauthorized("REFRESH_TOKEN_INVALID", "登录状态已失效，请重新登录")


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    role: str
    sv: int
    family: str
    issued_at: int
    expires_at: int


# ---------------------------------------------------------------- user state cache


@dataclass(frozen=True)
class _State:
    role: str
    status: str
    sv: int
    fetched_at: float


_cache: OrderedDict[str, _State] = OrderedDict()
_cache_lock = threading.Lock()


def _now_f() -> float:
    return clock.now().timestamp()


def _user_state(user_id: str) -> _State | None:
    now = _now_f()
    with _cache_lock:
        hit = _cache.get(user_id)
        if hit is not None and 0 <= now - hit.fetched_at < STATE_CACHE_S:
            _cache.move_to_end(user_id)
            return hit
    user = user_store.get_user(user_id)  # the one GetItem authentication may cost
    if user is None:
        return None
    state = _State(role=user.role, status=user.status, sv=int(user.sv), fetched_at=now)
    with _cache_lock:
        _cache[user_id] = state
        _cache.move_to_end(user_id)
        while len(_cache) > STATE_CACHE_MAX:
            _cache.popitem(last=False)
    return state


def forget_user_state(user_id: str) -> None:
    """Drop the cached status/sv of a user (after a freeze, unfreeze or password change in this process)."""
    with _cache_lock:
        _cache.pop(user_id, None)


def clear_state_cache() -> None:
    with _cache_lock:
        _cache.clear()


# ---------------------------------------------------------------- access tokens


def _jwt_key() -> bytes:
    return secrets.purpose_key("jwt")


def issue_access_token(user_id: str, role: str, sv: int, family: str) -> str:
    now = clock.now_ts()
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": user_id,
        "role": role,
        "sv": sv,
        "fam": family,
        "iat": now,
        "exp": now + ACCESS_TTL_S,
    }
    import jwt  # imported on first use: PyJWT loads `cryptography`, which the cold start should not pay for

    return jwt.encode(claims, _jwt_key(), algorithm=ALGORITHM, headers={"typ": "JWT"})


def decode_access_token(token: str) -> AccessClaims:
    """Verify signature, algorithm, issuer, audience and lifetime; raise 401 TOKEN_INVALID / TOKEN_EXPIRED."""
    import jwt

    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:  # belt and braces: `algorithms=` below already pins it
            raise _invalid()
        claims: dict[str, Any] = jwt.decode(
            token,
            _jwt_key(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={
                "require": ["iss", "aud", "sub", "exp", "iat"],
                # Lifetimes are checked below on the stage clock, not PyJWT's wall clock.
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "strict_aud": True,
            },
        )
    except jwt.PyJWTError:
        raise _invalid() from None
    sub, role, sv, fam = claims.get("sub"), claims.get("role"), claims.get("sv"), claims.get("fam")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not (isinstance(sub, str) and isinstance(role, str) and isinstance(fam, str)):
        raise _invalid()
    if not (_is_int(sv) and _is_int(iat) and _is_int(exp)):
        raise _invalid()
    assert isinstance(sv, int) and isinstance(iat, int) and isinstance(exp, int)  # narrowed above, for mypy
    if role not in ALL_ROLES or exp - iat > MAX_ACCESS_TTL_S or exp <= iat:
        raise _invalid()
    now = clock.now_ts()
    if iat > now + CLOCK_SKEW_S:
        raise _invalid()
    if now >= exp:
        raise _expired()
    return AccessClaims(user_id=sub, role=role, sv=sv, family=fam, issued_at=iat, expires_at=exp)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bearer(ctx: RequestContext) -> str | None:
    value = ctx.headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _invalid()
    return token.strip()


# ---------------------------------------------------------------- authenticate (the web layer's contract)


def authenticate(ctx: RequestContext) -> Caller:
    """The caller behind a request, or 401. Frozen callers are returned as such; the web layer refuses them."""
    token = _bearer(ctx)
    if token is None:
        if SIGNATURE_HEADER in ctx.headers:  # a signed request on a route that does not take signatures
            raise Unauthorized("BAD_SIGNATURE", "商户签名无效")
        raise Unauthorized("UNAUTHENTICATED", "请先登录", headers={"WWW-Authenticate": 'Bearer realm="taskhall"'})
    claims = decode_access_token(token)
    state = _user_state(claims.user_id)
    # A bumped session version (password change or reset) or a changed role retires every older token.
    if state is None or state.sv != claims.sv or state.role != claims.role:
        raise _invalid()
    return Caller(id=claims.user_id, role=state.role, status=state.status, via="token")


# ---------------------------------------------------------------- refresh-token families


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _iso_now() -> str:
    return clock.now().isoformat(timespec="seconds").replace("+00:00", "Z")


def _refresh_token(user_id: str, family: str) -> str:
    return f"{user_id}.{family}.{ids.token(32)}"


def start_session(user: user_store.UserItem) -> Tokens:
    """A new refresh family and the first token pair (sign-in, registration, password change)."""
    family = ids.new_id("fam")
    refresh = _refresh_token(user.user_id, family)
    session_store.create(
        user.user_id,
        family,
        _hash(refresh),
        sv=int(user.sv),
        now_iso=_iso_now(),
        expires_at=clock.now_ts() + REFRESH_LIFETIME_S,
    )
    access = issue_access_token(user.user_id, user.role, int(user.sv), family)
    return Tokens(access_token=access, refresh_token=refresh, expires_in=ACCESS_TTL_S)


def refresh(refresh_token: str) -> tuple[Tokens, user_store.UserItem]:
    """Rotate: the presented token stops working and a new pair is returned. Reuse revokes the family."""
    parts = (refresh_token or "").split(".")
    if len(parts) != 3 or not all(parts) or len(refresh_token) > 256:
        raise _refresh_invalid()
    user_id, family, _ = parts
    fam = session_store.get(user_id, family)
    if fam is None or fam.revoked_at is not None or int(fam.expires_at or 0) <= clock.now_ts():
        raise _refresh_invalid()
    presented = _hash(refresh_token)
    if not hmac.compare_digest(presented, fam.token_hash):
        if any(hmac.compare_digest(presented, used) for used in fam.used_hashes or []):
            _revoke_for_reuse(user_id, family)
        raise _refresh_invalid()
    user = user_store.get_user(user_id, consistent=True)
    if user is None or int(user.sv) != int(fam.sv):
        # The password changed since this family began: it is dead even if revocation missed it.
        session_store.revoke(user_id, family, reason="session_version", now_iso=_iso_now())
        raise _refresh_invalid()
    new_refresh = _refresh_token(user_id, family)
    if not session_store.rotate(fam, _hash(new_refresh), now_iso=_iso_now()):
        # Someone rotated or revoked it between our read and write: the same token was used twice.
        _revoke_for_reuse(user_id, family)
        raise _refresh_invalid()
    access = issue_access_token(user_id, user.role, int(user.sv), family)
    return Tokens(access_token=access, refresh_token=new_refresh, expires_in=ACCESS_TTL_S), user


def _revoke_for_reuse(user_id: str, family: str) -> None:
    session_store.revoke(user_id, family, reason="reuse", now_iso=_iso_now())
    logger.warning("refresh token reuse: family revoked", extra={"user_id": user_id, "family": family})


def logout(caller: Caller, ctx: RequestContext, *, all_devices: bool = False) -> int:
    """Revoke the family of the access token in use (or every family). Returns how many were revoked."""
    if all_devices:
        return session_store.revoke_all(caller.id, reason="logout_all", now_iso=_iso_now())
    token = _bearer(ctx)
    if token is None:
        raise _invalid()
    claims = decode_access_token(token)
    return int(session_store.revoke(caller.id, claims.family, reason="logout", now_iso=_iso_now()))


def revoke_all(user_id: str, reason: str) -> int:
    """Every family of the user (password change/reset). Access tokens die through the bumped `sv`."""
    forget_user_state(user_id)
    return session_store.revoke_all(user_id, reason=reason, now_iso=_iso_now())
