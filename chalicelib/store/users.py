"""Users and the uniqueness items that keep one phone, one identity, one invite code per account.

`USER#<id>` / `PROFILE` holds the account; `PHONE#<hmac>`, `IDNUM#<hmac>` and `INVITE#<code>` point back to
it and are written in the same transaction as the user item, each on `attribute_not_exists`, so two
concurrent registrations with one phone (or two accounts with one ID number) cannot both succeed.
Phones and ID numbers appear here only as blind indexes, masks and KMS envelopes — never in clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.store import audit as audit_store
from chalicelib.store import keys, tx
from chalicelib.store.base import Item


class UserItem(Item, discriminator="user"):
    user_id = UnicodeAttribute()
    role = UnicodeAttribute()
    status = UnicodeAttribute(default="active")  # active | frozen
    # Session version: every access token carries it; bumping it (password change/reset) kills them all.
    sv = NumberAttribute(default=1)
    phone_hash = UnicodeAttribute()
    phone_masked = UnicodeAttribute()
    phone_enc = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    credit_score = NumberAttribute(default=100)
    invite_code = UnicodeAttribute()
    invited_by = UnicodeAttribute(null=True)  # the inviter's user id, for the growth features
    invited_with = UnicodeAttribute(null=True)  # the code they typed
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    # Real name (实名): masked forms to show, envelopes to decrypt in audited admin actions, facts for eligibility.
    real_name_status = UnicodeAttribute(default="none")  # none | verified
    real_name_masked = UnicodeAttribute(null=True)
    real_name_enc = UnicodeAttribute(null=True)
    id_number_masked = UnicodeAttribute(null=True)
    id_number_enc = UnicodeAttribute(null=True)
    id_number_hash = UnicodeAttribute(null=True)
    id_province = UnicodeAttribute(null=True)
    birth_date = UnicodeAttribute(null=True)
    real_name_verified_at = UnicodeAttribute(null=True)
    idp_reference = UnicodeAttribute(null=True)
    # Merchants only: none | pending | approved | rejected (mirrors USER#<id>/MERCHANT, written with it).
    merchant_status = UnicodeAttribute(null=True)
    frozen_reason = UnicodeAttribute(null=True)
    frozen_at = UnicodeAttribute(null=True)


class PhoneClaim(Item, discriminator="phone_claim"):
    user_id = UnicodeAttribute()


class IdNumberClaim(Item, discriminator="idnum_claim"):
    user_id = UnicodeAttribute()


class InviteClaim(Item, discriminator="invite_claim"):
    user_id = UnicodeAttribute()


class InviteCodeTaken(Exception):
    """The freshly drawn invite code already exists; draw another and retry."""


def new_user_item(user_id: str, role: str, created_iso: str, **fields: Any) -> UserItem:
    pk, sk = keys.user(user_id)
    g1pk, g1sk = keys.users_by_role(role, created_iso, user_id)
    # GSI2: the desk's lists by role and status (docs/decisions/0110); moved by `set_status_with_audit`.
    g2pk, g2sk = keys.users_by_role_status(role, str(fields.get("status") or "active"), created_iso, user_id)
    return UserItem(
        pk,
        sk,
        user_id=user_id,
        role=role,
        created_at=created_iso,
        updated_at=created_iso,
        GSI1PK=g1pk,
        GSI1SK=g1sk,
        GSI2PK=g2pk,
        GSI2SK=g2sk,
        **fields,
    )


def get_user(user_id: str, *, consistent: bool = False) -> UserItem | None:
    pk, sk = keys.user(user_id)
    try:
        return UserItem.get(pk, sk, consistent_read=consistent)
    except UserItem.DoesNotExist:
        return None


def user_id_for_phone(phone_hash: str) -> str | None:
    pk, sk = keys.phone_claim(phone_hash)
    try:
        return PhoneClaim.get(pk, sk, consistent_read=True).user_id
    except PhoneClaim.DoesNotExist:
        return None


def invite_owner(code: str) -> str | None:
    pk, sk = keys.invite_code(code)
    try:
        return InviteClaim.get(pk, sk).user_id
    except InviteClaim.DoesNotExist:
        return None


def create_user(user: UserItem) -> None:
    """Write the user with its phone and invite-code uniqueness items, all or nothing."""
    t = tx.Tx()
    t.put(user, label="user", condition=UserItem.PK.does_not_exist())
    phone = PhoneClaim(*keys.phone_claim(user.phone_hash), user_id=user.user_id)
    t.put(phone, label="phone", condition=PhoneClaim.PK.does_not_exist())
    invite = InviteClaim(*keys.invite_code(user.invite_code), user_id=user.user_id)
    t.put(invite, label="invite", condition=InviteClaim.PK.does_not_exist())
    try:
        tx.run(lambda: t, lambda built: built.commit())
    except tx.TxCancelled as exc:
        if "phone" in exc.failed:
            raise Conflict("PHONE_IN_USE", "该手机号已注册，请直接登录或找回密码") from None
        if "invite" in exc.failed:
            raise InviteCodeTaken() from None
        raise


def set_password(user_id: str, password_hash: str, *, now_iso: str, bump_sv: bool) -> int:
    """Store a new password hash; with `bump_sv` every access token issued before stops working. Returns sv."""
    item = UserItem(*keys.user(user_id))
    actions: list[Action] = [UserItem.password_hash.set(password_hash), UserItem.updated_at.set(now_iso)]
    if bump_sv:
        actions.append(UserItem.sv.add(1))
    try:
        item.update(actions=actions, condition=UserItem.PK.exists())
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise NotFound("ACCOUNT_NOT_FOUND", "账号不存在") from None
        raise
    return int(item.sv)


def upgrade_password_hash(user_id: str, old_hash: str, new_hash: str) -> bool:
    """Replace a hash made with older parameters, unless the password changed meanwhile."""
    item = UserItem(*keys.user(user_id))
    try:
        item.update(actions=[UserItem.password_hash.set(new_hash)], condition=UserItem.password_hash == old_hash)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def set_status_with_audit(
    user_id: str, status: str, *, reason: str | None, now_iso: str, audit_entry: audit_store.AuditItem
) -> None:
    """Freeze or unfreeze, and write the desk's audit entry, in one transaction.

    The user's GSI2 (role × status list) moves with the status, so the desk's filtered lists stay exact."""
    current = get_user(user_id, consistent=True)
    if current is None:
        raise NotFound("NOT_FOUND", "用户不存在")
    g2pk, g2sk = keys.users_by_role_status(current.role, status, current.created_at, user_id)
    actions: list[Action] = [
        UserItem.status.set(status),
        UserItem.updated_at.set(now_iso),
        UserItem.GSI2PK.set(g2pk),
        UserItem.GSI2SK.set(g2sk),
    ]
    if status == "frozen":
        actions += [UserItem.frozen_reason.set(reason or ""), UserItem.frozen_at.set(now_iso)]
    else:
        actions += [UserItem.frozen_reason.remove(), UserItem.frozen_at.remove()]
    t = tx.Tx()
    t.update(UserItem(*keys.user(user_id)), actions, label="user", condition=UserItem.PK.exists())
    audit_store.add_to(t, audit_entry)
    try:
        tx.run(lambda: t, lambda built: built.commit())
    except tx.TxCancelled as exc:
        if "user" in exc.failed:
            raise NotFound("NOT_FOUND", "用户不存在") from None
        raise


def list_partition(index: str, partition: str, *, before_sk: str | None, limit: int) -> list[UserItem]:
    """Users of one desk-list partition (GSI1 by role, GSI2 by role and status), newest first, one Query.

    `before_sk` (a `<created>#<id>` sort key) resumes a listing just after the last row handed out."""
    idx = UserItem.gsi1 if index == "GSI1" else UserItem.gsi2
    sort_attr = UserItem.GSI1SK if index == "GSI1" else UserItem.GSI2SK
    cond = sort_attr < before_sk if before_sk is not None else None
    rows = idx.query(partition, range_key_condition=cond, scan_index_forward=False, limit=limit, page_size=limit)
    return [u for u in rows if isinstance(u, UserItem)]


def idnum_owner(id_hash: str) -> str | None:
    pk, sk = keys.idnum_claim(id_hash)
    try:
        return IdNumberClaim.get(pk, sk, consistent_read=True).user_id
    except IdNumberClaim.DoesNotExist:
        return None


@dataclass(frozen=True)
class RealName:
    name_masked: str
    name_enc: str
    id_masked: str
    id_enc: str
    id_hash: str
    province: str
    birth_date: str
    verified_at: str
    idp_reference: str


def save_real_name(user_id: str, rn: RealName) -> None:
    """Record a verified identity and claim its ID number, in one transaction."""
    t = tx.Tx()
    t.put(
        IdNumberClaim(*keys.idnum_claim(rn.id_hash), user_id=user_id),
        label="idnum",
        condition=IdNumberClaim.PK.does_not_exist(),
    )
    t.update(
        UserItem(*keys.user(user_id)),
        [
            UserItem.real_name_status.set("verified"),
            UserItem.real_name_masked.set(rn.name_masked),
            UserItem.real_name_enc.set(rn.name_enc),
            UserItem.id_number_masked.set(rn.id_masked),
            UserItem.id_number_enc.set(rn.id_enc),
            UserItem.id_number_hash.set(rn.id_hash),
            UserItem.id_province.set(rn.province),
            UserItem.birth_date.set(rn.birth_date),
            UserItem.real_name_verified_at.set(rn.verified_at),
            UserItem.idp_reference.set(rn.idp_reference),
            UserItem.updated_at.set(rn.verified_at),
        ],
        label="user",
        condition=UserItem.PK.exists() & (UserItem.real_name_status != "verified"),
    )
    try:
        tx.run(lambda: t, lambda built: built.commit())
    except tx.TxCancelled as exc:
        if "user" in exc.failed:
            raise Conflict("REAL_NAME_ALREADY_VERIFIED", "你已完成实名认证，无需重复提交") from None
        if "idnum" in exc.failed:
            raise Conflict("IDENTITY_IN_USE", "该身份证号已绑定其他账号，一个身份只能认证一个账号") from None
        raise


def set_status_index(user: UserItem) -> bool:
    """Give a user its GSI2 for the status it has now; False if the status changed meanwhile (already indexed)."""
    g2pk, g2sk = keys.users_by_role_status(user.role, user.status, user.created_at, user.user_id)
    try:
        UserItem(*keys.user(user.user_id)).update(
            actions=[UserItem.GSI2PK.set(g2pk), UserItem.GSI2SK.set(g2sk)],
            condition=(UserItem.status == user.status) & UserItem.GSI2PK.does_not_exist(),
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
