"""Refresh-token families: `USER#<id>` / `SESSION#<family>`, one per sign-in, rotated on every refresh.

The item keeps the SHA-256 of the one refresh token that is currently valid and of the last few that were
rotated out, so a replayed old token is recognised as reuse (and the family revoked) rather than as noise.
Rotation is a conditional update on the current hash and generation: of two concurrent refreshes with the
same token exactly one wins. The family's `expires_at` is its absolute lifetime (TTL cleans it up later;
reads treat a passed `expires_at` as expired).
"""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError

from chalicelib.store import keys
from chalicelib.store.base import Item

USED_HASHES_KEPT = 32  # enough to recognise any token a client could still hold


class FamilyItem(Item, discriminator="session"):
    user_id = UnicodeAttribute()
    family = UnicodeAttribute()
    token_hash = UnicodeAttribute()
    used_hashes = ListAttribute(of=UnicodeAttribute, default=list)
    generation = NumberAttribute(default=0)
    sv = NumberAttribute()  # the user's session version when the family was created
    created_at = UnicodeAttribute()
    rotated_at = UnicodeAttribute(null=True)
    revoked_at = UnicodeAttribute(null=True)
    revoke_reason = UnicodeAttribute(null=True)


def create(user_id: str, family: str, token_hash: str, *, sv: int, now_iso: str, expires_at: int) -> None:
    pk, sk = keys.session(user_id, family)
    FamilyItem(
        pk,
        sk,
        user_id=user_id,
        family=family,
        token_hash=token_hash,
        sv=sv,
        created_at=now_iso,
        expires_at=expires_at,
    ).save(condition=FamilyItem.PK.does_not_exist())


def get(user_id: str, family: str) -> FamilyItem | None:
    pk, sk = keys.session(user_id, family)
    try:
        return FamilyItem.get(pk, sk, consistent_read=True)
    except FamilyItem.DoesNotExist:
        return None


def rotate(item: FamilyItem, new_hash: str, *, now_iso: str) -> bool:
    """Swap the current token for a new one, if nobody rotated or revoked the family since `item` was read."""
    old_hash = item.token_hash
    used = [*list(item.used_hashes or []), old_hash][-USED_HASHES_KEPT:]
    generation = int(item.generation or 0)
    target = FamilyItem(item.PK, item.SK)
    try:
        target.update(
            actions=[
                FamilyItem.token_hash.set(new_hash),
                FamilyItem.used_hashes.set(used),  # type: ignore[arg-type]  # pynamodb types lists by attribute class
                FamilyItem.generation.set(generation + 1),
                FamilyItem.rotated_at.set(now_iso),
            ],
            condition=(FamilyItem.token_hash == old_hash)
            & (FamilyItem.generation == generation)
            & FamilyItem.revoked_at.does_not_exist(),
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def revoke(user_id: str, family: str, *, reason: str, now_iso: str) -> bool:
    """Mark a family revoked (kept, so later reuse of its tokens is still recognised). False if already so."""
    target = FamilyItem(*keys.session(user_id, family))
    try:
        target.update(
            actions=[FamilyItem.revoked_at.set(now_iso), FamilyItem.revoke_reason.set(reason)],
            condition=FamilyItem.PK.exists() & FamilyItem.revoked_at.does_not_exist(),
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def families(user_id: str) -> list[FamilyItem]:
    pk, prefix = keys.session_prefix(user_id)
    return list(FamilyItem.query(pk, FamilyItem.SK.startswith(prefix), consistent_read=True))


def revoke_all(user_id: str, *, reason: str, now_iso: str) -> int:
    """Revoke every live family of a user; returns how many were live."""
    revoked = 0
    for fam in families(user_id):
        if fam.revoked_at is None and revoke(user_id, fam.family, reason=reason, now_iso=now_iso):
            revoked += 1
    return revoked
