"""Accounts by phone: register, sign in, reset or change the password, and create desk staff from the CLI.

Sign-in never says whether a phone has an account: unknown phones get the same answer, after an argon2
verification against a dummy hash so the time taken does not tell either. Five wrong passwords within
15 minutes lock sign-in for that phone for 15 minutes (429 + Retry-After), whether or not it exists.
"""

from __future__ import annotations

import secrets as _random
from dataclasses import dataclass

from chalicelib.adapters import clock, crypto, ids
from chalicelib.adapters import passwords as pw
from chalicelib.adapters.log import logger
from chalicelib.domain.errors import Conflict, Invalid, RateLimited, Unauthorized
from chalicelib.domain.identity import mask_phone, normalize_phone
from chalicelib.domain.passwords import check_strength
from chalicelib.domain.roles import ADMIN_ROLES, PUBLIC_ROLES, Caller
from chalicelib.services import limits, otp, sessions
from chalicelib.store import ratelimit, sightings
from chalicelib.store import users as user_store

LOGIN_FAILURES = 5
LOGIN_WINDOW_S = 900
LOCKOUT_S = 900
LOGIN_PER_IP_10_MIN = 100
REGISTER_PER_IP_HOUR = 30
INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud and typed
INVITE_LENGTH = 8


@dataclass(frozen=True)
class SignedIn:
    user: user_store.UserItem
    tokens: sessions.Tokens


def _iso_now() -> str:
    return clock.now().isoformat(timespec="seconds").replace("+00:00", "Z")


def new_invite_code() -> str:
    return "".join(_random.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))


def _locked(minutes_s: int) -> RateLimited:
    minutes = max(1, (minutes_s + 59) // 60)
    return RateLimited(
        minutes_s,
        code="LOGIN_LOCKED",
        message=f"密码错误次数过多，请 {minutes} 分钟后再试，或通过短信验证码找回密码",
    )


def create_account(
    phone: str,
    password: str,
    role: str,
    *,
    invited_by: str | None = None,
    invited_with: str | None = None,
) -> user_store.UserItem:
    """Write a new account (phone already normalised, password already checked). Used by `register` and the CLI."""
    user_id = ids.new_id("usr")
    now_iso = _iso_now()
    fields = {
        "status": "active",
        "sv": 1,
        "phone_hash": crypto.blind_index("phone", phone),
        "phone_masked": mask_phone(phone),
        "phone_enc": crypto.encrypt_field(phone, owner=user_id, field="phone"),
        "password_hash": pw.hash_password(password),
        "credit_score": 100,
        "invited_by": invited_by,
        "invited_with": invited_with,
        "real_name_status": "none",
        "merchant_status": "none" if role == "merchant" else None,
    }
    for _ in range(5):  # a drawn invite code that exists already is retried with a fresh one
        item = user_store.new_user_item(user_id, role, now_iso, invite_code=new_invite_code(), **fields)
        try:
            user_store.create_user(item)
        except user_store.InviteCodeTaken:
            continue
        logger.info("account created", extra={"user_id": user_id, "role": role})
        return item
    raise Conflict("INVITE_CODE_EXHAUSTED", "系统繁忙，请稍后重试")


def register(
    phone_raw: str,
    password: str,
    otp_code: str,
    role: str,
    invite_code: str | None,
    *,
    ip: str,
    device_id: str | None,
) -> SignedIn:
    if role not in PUBLIC_ROLES:
        raise Invalid({"role": "取值应为 worker、merchant 之一"})
    phone = normalize_phone(phone_raw)
    check_strength(password, phone)
    limits.hit_ip("register-ip", ip, REGISTER_PER_IP_HOUR, 3600)
    inviter: str | None = None
    code: str | None = None
    if invite_code:
        code = invite_code.strip().upper()
        inviter = user_store.invite_owner(code)
        if inviter is None:
            raise Invalid({"invite_code": "邀请码不存在，请核对后重试或留空"}, code="INVITE_CODE_INVALID")
    otp.verify(phone, "register", otp_code)
    if user_store.user_id_for_phone(crypto.blind_index("phone", phone)):
        # Fast answer for the common case; the transaction's uniqueness item is what actually guarantees it.
        raise Conflict("PHONE_IN_USE", "该手机号已注册，请直接登录或找回密码")
    user = create_account(phone, password, role, invited_by=inviter, invited_with=code)
    sightings.record_sighting(user.user_id, device_id, ip, "register")
    return SignedIn(user=user, tokens=sessions.start_session(user))


def login(
    phone_raw: str,
    password: str | None,
    otp_code: str | None,
    *,
    ip: str,
    device_id: str | None,
) -> SignedIn:
    """Sign in with the password, or with an SMS code (`purpose=login`)."""
    if (password is None) == (otp_code is None):
        raise Invalid({"password": "请填写密码或短信验证码（二选一）"})
    phone = normalize_phone(phone_raw)
    phone_hash = crypto.blind_index("phone", phone)
    limits.hit_ip("login-ip", ip, LOGIN_PER_IP_10_MIN, 600)
    left = ratelimit.blocked_for("login", phone_hash)
    if left:
        raise _locked(left)
    user_id = user_store.user_id_for_phone(phone_hash)
    user = user_store.get_user(user_id, consistent=True) if user_id else None
    if password is not None:
        if user is None:
            pw.burn_verify(password)
            _count_failure(phone_hash)
            raise _bad_credentials()
        ok, needs_rehash = pw.verify_password(user.password_hash, password)
        if not ok:
            _count_failure(phone_hash)
            raise _bad_credentials()
        if needs_rehash:
            user_store.upgrade_password_hash(user.user_id, user.password_hash, pw.hash_password(password))
    else:
        otp.verify(phone, "login", otp_code or "")
        if user is None:
            raise _bad_credentials()
    ratelimit.clear("login-fail", phone_hash, LOGIN_WINDOW_S)
    sightings.record_sighting(user.user_id, device_id, ip, "login")
    return SignedIn(user=user, tokens=sessions.start_session(user))


def _bad_credentials() -> Unauthorized:
    return Unauthorized("INVALID_CREDENTIALS", "手机号或密码错误")


def _count_failure(phone_hash: str) -> None:
    failures = ratelimit.hit("login-fail", phone_hash, 1_000_000, LOGIN_WINDOW_S)
    if failures >= LOGIN_FAILURES:
        ratelimit.block("login", phone_hash, LOCKOUT_S)
        ratelimit.clear("login-fail", phone_hash, LOGIN_WINDOW_S)
        logger.warning("sign-in locked after repeated failures", extra={"lockout_s": LOCKOUT_S})
        raise _locked(LOCKOUT_S)


def reset_password(phone_raw: str, otp_code: str, new_password: str) -> None:
    """Forgotten password: prove the phone by SMS, set a new password, sign out everywhere."""
    phone = normalize_phone(phone_raw)
    check_strength(new_password, phone, field="new_password")
    otp.verify(phone, "reset", otp_code)
    phone_hash = crypto.blind_index("phone", phone)
    user_id = user_store.user_id_for_phone(phone_hash)
    if user_id is None:
        raise Invalid({"phone": "该手机号尚未注册"}, code="ACCOUNT_NOT_FOUND")
    user_store.set_password(user_id, pw.hash_password(new_password), now_iso=_iso_now(), bump_sv=True)
    sessions.revoke_all(user_id, reason="password_reset")
    ratelimit.unblock("login", phone_hash)
    logger.info("password reset", extra={"user_id": user_id})


def change_password(caller: Caller, old_password: str, new_password: str) -> SignedIn:
    """Change the password with the old one; every other session ends, this device gets fresh tokens."""
    left = ratelimit.blocked_for("password-change", caller.id)
    if left:
        raise _locked(left)
    user = user_store.get_user(caller.id, consistent=True)
    if user is None:
        raise Unauthorized("TOKEN_INVALID", "登录凭证无效，请重新登录")
    ok, _ = pw.verify_password(user.password_hash, old_password)
    if not ok:
        failures = ratelimit.hit("password-change-fail", caller.id, 1_000_000, LOGIN_WINDOW_S)
        if failures >= LOGIN_FAILURES:
            ratelimit.block("password-change", caller.id, LOCKOUT_S)
            raise _locked(LOCKOUT_S)
        raise Invalid({"old_password": "原密码不正确"}, code="OLD_PASSWORD_INCORRECT")
    if new_password == old_password:
        raise Invalid({"new_password": "新密码不能与原密码相同"}, code="WEAK_PASSWORD")
    phone = crypto.decrypt_field(user.phone_enc, owner=user.user_id, field="phone")
    check_strength(new_password, phone, field="new_password")
    user_store.set_password(user.user_id, pw.hash_password(new_password), now_iso=_iso_now(), bump_sv=True)
    sessions.revoke_all(user.user_id, reason="password_change")
    fresh = user_store.get_user(user.user_id, consistent=True) or user
    logger.info("password changed", extra={"user_id": user.user_id})
    return SignedIn(user=fresh, tokens=sessions.start_session(fresh))


def create_staff(phone_raw: str, password: str, role: str) -> user_store.UserItem:
    """Desk staff exist only through this (the `make admin` CLI), never through the API."""
    if role not in ADMIN_ROLES:
        raise Invalid({"role": "取值应为 " + "、".join(ADMIN_ROLES) + " 之一"})
    phone = normalize_phone(phone_raw)
    check_strength(password, phone)
    return create_account(phone, password, role)
