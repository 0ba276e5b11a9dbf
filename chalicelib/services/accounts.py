"""The signed-in person's own account: profile, real-name verification; and the desk's freeze/unfreeze.

Real names: the ID number is validated (GB 11643, age ≥ 16 on the stage clock), confirmed by the identity
provider, then stored only as a KMS envelope, a blind index (its `IDNUM#` uniqueness item keeps one
identity to one account) and a mask. Nothing here logs or returns it in clear.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.adapters import clock, crypto, idp
from chalicelib.adapters.log import logger
from chalicelib.domain.errors import Conflict, Invalid, NotFound, Unauthorized
from chalicelib.domain.identity import check_birth_date, mask_name, normalize_chinese_name, parse_id_number
from chalicelib.domain.roles import Caller
from chalicelib.services import audit, sessions
from chalicelib.store import merchants as merchant_store
from chalicelib.store import users as user_store

MIN_AGE = 16


@dataclass(frozen=True)
class Profile:
    user: user_store.UserItem
    merchant: merchant_store.MerchantItem | None


def _iso_now() -> str:
    return clock.now().isoformat(timespec="seconds").replace("+00:00", "Z")


def _load(caller: Caller, consistent: bool = False) -> user_store.UserItem:
    user = user_store.get_user(caller.id, consistent=consistent)
    if user is None:
        raise Unauthorized("TOKEN_INVALID", "登录凭证无效，请重新登录")
    return user


def profile(caller: Caller) -> Profile:
    user = _load(caller)
    return Profile(user=user, merchant=profile_merchant(user))


def profile_merchant(user: user_store.UserItem) -> merchant_store.MerchantItem | None:
    """A merchant's qualification (for their profile); None for everyone else or before submitting."""
    return merchant_store.get(user.user_id) if user.role == "merchant" else None


def verify_real_name(caller: Caller, name_raw: str, id_number_raw: str) -> Profile:
    """Validate, confirm with the provider, and store a real name; one identity per account, once."""
    fields: dict[str, str] = {}
    name = ident = None
    try:
        name = normalize_chinese_name(name_raw)
    except Invalid as exc:
        fields.update(exc.fields)
    try:
        ident = parse_id_number(id_number_raw)
        check_birth_date(ident, clock.now().date(), MIN_AGE)
    except Invalid as exc:
        if exc.code == "AGE_BELOW_MINIMUM" and not fields:
            raise
        fields.update(exc.fields)
    if fields or name is None or ident is None:
        raise Invalid(fields)
    user = _load(caller, consistent=True)
    if user.real_name_status == "verified":
        raise Conflict("REAL_NAME_ALREADY_VERIFIED", "你已完成实名认证，无需重复提交")
    id_hash = crypto.blind_index("idnum", ident.value)
    # Checked before asking the provider (which costs money per call); the transaction re-checks it.
    taken = user_store.idnum_owner(id_hash)
    if taken and taken != caller.id:
        from chalicelib.services import risk

        risk.note_identity_attempt(caller.id, taken)  # blocked here, but flagged: one person, two accounts
        raise Conflict("IDENTITY_IN_USE", "该身份证号已绑定其他账号，一个身份只能认证一个账号")
    result = idp.provider().verify(name, ident.value)
    if not result.matched:
        logger.info("real-name check failed at provider", extra={"user_id": caller.id, "provider": result.provider})
        raise Invalid(
            {"name": "姓名与身份证号不匹配，请核对后重试"},
            code="REAL_NAME_MISMATCH",
            message="姓名与身份证号不匹配",
        )
    now_iso = _iso_now()
    user_store.save_real_name(
        caller.id,
        user_store.RealName(
            name_masked=mask_name(name),
            name_enc=crypto.encrypt_field(name, owner=caller.id, field="real_name"),
            id_masked=ident.masked,
            id_enc=crypto.encrypt_field(ident.value, owner=caller.id, field="id_number"),
            id_hash=id_hash,
            province=ident.province,
            birth_date=ident.birth_date.isoformat(),
            verified_at=now_iso,
            idp_reference=result.reference,
        ),
    )
    logger.info("real name verified", extra={"user_id": caller.id, "provider": result.provider})
    return profile(caller)


# ---------------------------------------------------------------- the desk: freeze / unfreeze


def set_frozen(actor: Caller, user_id: str, frozen: bool, *, reason: str | None, request_id: str | None) -> str:
    """Freeze or unfreeze an account, with its audit entry; takes effect at the account's next request."""
    current = user_store.get_user(user_id, consistent=True)
    if current is None or current.role not in ("worker", "merchant"):
        raise NotFound("NOT_FOUND", "用户不存在")
    after = "frozen" if frozen else "active"
    entry = audit.entry(
        actor,
        "user.freeze" if frozen else "user.unfreeze",
        "user",
        user_id,
        reason=reason,
        before={"status": current.status},
        after={"status": after},
        request_id=request_id,
    )
    user_store.set_status_with_audit(user_id, after, reason=reason, now_iso=_iso_now(), audit_entry=entry)
    sessions.forget_user_state(user_id)
    logger.info("account status changed", extra={"user_id": user_id, "status": after, "actor_id": actor.id})
    return after
