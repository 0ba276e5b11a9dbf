"""The risk engine: flags with evidence, account links, payout holds, freezes and the rules evaluated on events."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters import clock
from chalicelib.adapters.log import logger
from chalicelib.domain import risk_rules as R
from chalicelib.domain.roles import Caller
from chalicelib.store import flags, keys

SYSTEM = Caller(id="system:risk", role="system")

# Two accounts seen on one address within this long of each other are linked (shared NAT is why an IP is a
# weaker signal than a device id: a window keeps a campus or office from linking everyone it ever served).
IP_LINK_WINDOW = timedelta(hours=24)


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def flag_id_for(rule_id: str, subject: str, cause: str) -> str:
    digest = hashlib.sha256(f"{rule_id}|{subject}|{cause}".encode()).hexdigest()[:26].upper()
    return f"flg_{digest}"


def raise_flag(rule_id: str, subject: str, evidence: dict[str, Any], *, cause: str, severity: str = "medium") -> str:
    """Record a flag for review. `cause` makes it idempotent: the same cause flags once."""
    flag_id = flag_id_for(rule_id, subject, cause)
    flags.put_flag(flag_id, rule_id, subject, evidence, severity, clock.now().isoformat().replace("+00:00", "Z"))
    logger.warning("risk flag", extra={"rule_id": rule_id, "subject": subject, "flag_id": flag_id})
    return flag_id


def evaluate(rule_id: str, subject: str, evidence: dict[str, Any], *, cause: str) -> str:
    """A rule hit: flag it (once per cause) and, the first time only, take the rule's action on the subject.

    Acting only on a new flag keeps a redelivered event from re-applying an action an admin already reversed.
    """
    rule = R.rule(rule_id)
    flag_id = flag_id_for(rule_id, subject, cause)
    new = flags.put_flag(
        flag_id,
        rule_id,
        subject,
        {**evidence, "description": rule.description},
        rule.severity,
        _iso(clock.now()),
        score=rule.score,
        action=str(rule.action),
    )
    if not new:
        return flag_id
    logger.warning("risk rule hit", extra={"rule_id": rule_id, "subject": subject, "flag_id": flag_id})
    if rule.action == R.Action.HOLD_PAYOUTS:
        hold_payouts(subject, flag_id, rule.description)
    elif rule.action == R.Action.FREEZE:
        freeze(subject, flag_id, rule.description)
    elif rule.action == R.Action.PAUSE_MERCHANT:
        pause_merchant(subject, flag_id, rule.description)
    return flag_id


# ---------------------------------------------------------------- actions (each reversible by an admin)


def _audit(action: str, target_type: str, target_id: str, *, reason: str, before: Any, after: Any) -> None:
    from chalicelib.services import audit

    audit.record(SYSTEM, action, target_type, target_id, reason=reason, before=before, after=after)


def _set_withdrawal_holds(user_id: str, reason: str | None) -> list[str]:
    """Mark (or clear) `hold_reason` on the user's pending withdrawals; returns their ids."""
    from chalicelib.store import withdrawals as wdr_store

    touched = []
    for w in wdr_store.query_for_user(user_id):
        if w.status != "pending":
            continue
        action = (
            wdr_store.WithdrawalItem.hold_reason.set(reason)
            if reason
            else wdr_store.WithdrawalItem.hold_reason.remove()
        )
        w.update(actions=[action], condition=wdr_store.WithdrawalItem.status == "pending")
        touched.append(w.withdrawal_id)
    return touched


def payouts_held(user_id: str) -> bool:
    """Is a risk hold on this user's payouts? (One GetItem; the payout poll asks before paying.)"""
    from chalicelib.store import risk as risk_store

    return risk_store.get_hold(user_id) is not None


def hold_payouts(user_id: str, flag_id: str, reason: str) -> None:
    """Pending and future withdrawals of the user wait (new ones are still accepted, and stay pending)."""
    from chalicelib.store import risk as risk_store

    if not risk_store.put_hold(user_id, flag_id, reason, _iso(clock.now())):
        return
    waiting = _set_withdrawal_holds(user_id, f"risk:{flag_id}")
    _audit(
        "risk.hold_payouts",
        "user",
        user_id,
        reason=reason,
        before={"payouts": "open"},
        after={"payouts": "held", "flag_id": flag_id, "withdrawals": waiting},
    )


def release_payouts(user_id: str, *, actor: Caller, reason: str, request_id: str | None) -> list[str]:
    from chalicelib.services import audit
    from chalicelib.store import risk as risk_store

    hold = risk_store.get_hold(user_id)
    if hold is None:
        return []
    risk_store.delete_hold(user_id)
    released = _set_withdrawal_holds(user_id, None)
    audit.record(
        actor,
        "risk.release_hold",
        "user",
        user_id,
        reason=reason,
        before={"payouts": "held", "flag_id": hold.flag_id},
        after={"payouts": "open", "withdrawals": released},
        request_id=request_id,
    )
    return released


def freeze(user_id: str, flag_id: str, reason: str) -> None:
    from chalicelib.services import audit
    from chalicelib.store import users

    user = users.get_user(user_id, consistent=True)
    if user is None or user.status == "frozen":
        return
    entry = audit.entry(
        SYSTEM,
        "risk.freeze",
        "user",
        user_id,
        reason=reason,
        before={"status": user.status},
        after={"status": "frozen", "flag_id": flag_id},
    )
    users.set_status_with_audit(user_id, "frozen", reason=reason, now_iso=_iso(clock.now()), audit_entry=entry)


def unfreeze(user_id: str, *, actor: Caller, reason: str, request_id: str | None) -> bool:
    from chalicelib.services import audit
    from chalicelib.store import users

    user = users.get_user(user_id, consistent=True)
    if user is None or user.status != "frozen":
        return False
    entry = audit.entry(
        actor,
        "risk.unfreeze",
        "user",
        user_id,
        reason=reason,
        before={"status": "frozen"},
        after={"status": "active"},
        request_id=request_id,
    )
    users.set_status_with_audit(user_id, "active", reason=None, now_iso=_iso(clock.now()), audit_entry=entry)
    return True


def _merchant_tasks(merchant_id: str, status: str) -> list[Any]:
    from chalicelib.store.tasks import TaskItem

    return list(TaskItem.gsi1.query(keys.merchant_tasks(merchant_id), TaskItem.GSI1SK.startswith(f"{status}#")))


def pause_merchant(merchant_id: str, flag_id: str, reason: str) -> None:
    """The breaker: pause every published task of the merchant (the task service's own pause path), hold its
    guarantee (the release path refuses while the hold exists) and leave the flag as the desk's review item."""
    from chalicelib.domain.errors import Conflict
    from chalicelib.services import tasks
    from chalicelib.store import risk as risk_store

    as_merchant = Caller(id=merchant_id, role="merchant")
    paused = []
    for task in _merchant_tasks(merchant_id, "published"):
        try:
            tasks.pause(as_merchant, task.task_id)
        except Conflict:
            continue  # it ended or was paused meanwhile
        paused.append(task.task_id)
    now_iso = _iso(clock.now())
    risk_store.hold_guarantee(merchant_id, reason, now_iso)
    risk_store.put_state("breaker_paused", merchant_id, {"tasks": paused, "flag_id": flag_id}, now_iso)
    _audit(
        "risk.pause_merchant",
        "merchant",
        merchant_id,
        reason=reason,
        before={"guarantee": "open"},
        after={"guarantee": "held", "paused_tasks": paused, "flag_id": flag_id},
    )


def resume_merchant(merchant_id: str, flag: Any, *, actor: Caller, reason: str, request_id: str | None) -> list[str]:
    """Lift the breaker: release the guarantee hold and resume the tasks the breaker paused (not the merchant's own
    pauses), each through the task service's resume path."""
    from chalicelib.domain.errors import Conflict
    from chalicelib.services import audit, tasks
    from chalicelib.store import risk as risk_store

    paused_by_us = set(risk_store.get_state("breaker_paused", merchant_id).get("tasks") or [])
    as_merchant = Caller(id=merchant_id, role="merchant")
    resumed = []
    for task in _merchant_tasks(merchant_id, "paused"):
        if task.task_id not in paused_by_us:
            continue
        try:
            tasks.resume(as_merchant, task.task_id)
        except Conflict:
            continue  # ended meanwhile
        resumed.append(task.task_id)
    risk_store.release_guarantee(merchant_id)
    risk_store.put_state("breaker_paused", merchant_id, {"tasks": [], "released_by": actor.id}, _iso(clock.now()))
    audit.record(
        actor,
        "risk.resume_merchant",
        "merchant",
        merchant_id,
        reason=reason,
        before={"guarantee": "held"},
        after={"guarantee": "open", "resumed_tasks": resumed},
        request_id=request_id,
    )
    return resumed


# ---------------------------------------------------------------- linked accounts


def _ip_windows_meet(a: Any, b: Any) -> bool:
    """Were the two sightings of one address within IP_LINK_WINDOW of each other (intervals, widened)?"""
    a0, a1 = _parse(a.first_seen), _parse(a.last_seen)
    b0, b1 = _parse(b.first_seen), _parse(b.last_seen)
    return a0 <= b1 + IP_LINK_WINDOW and b0 <= a1 + IP_LINK_WINDOW


def linked_accounts(user_a: str, user_b: str) -> list[str]:
    """Why two users look like one person: any of "device", "ip", "payout_account", "identity" (sorted, unique).

    device: both seen on one device id; ip: both seen on one address within IP_LINK_WINDOW; payout_account: one
    withdrawal account (the account claim lets only one user hold it, so this is the other's blocked attempt, or
    withdrawals of both with one account hash); identity: one ID number (the same: a blocked attempt, recorded).
    Cost: two GSI2 Queries, one link Query, two user reads and two withdrawal-history Queries.
    """
    from chalicelib.store import risk as risk_store
    from chalicelib.store import sightings, users
    from chalicelib.store import withdrawals as wdr_store

    if not user_a or not user_b or user_a == user_b:
        return []
    reasons: set[str] = set(risk_store.link_reasons(user_a, user_b))

    seen_a = {s.GSI2SK: s for s in sightings.of_user(user_a)}
    for s in sightings.of_user(user_b):
        other = seen_a.get(s.GSI2SK)
        if other is None:
            continue
        if s.GSI2SK.startswith("DEV#"):
            reasons.add("device")
        elif s.GSI2SK.startswith("IP#") and _ip_windows_meet(other, s):
            reasons.add("ip")

    if "identity" not in reasons:
        ua, ub = users.get_user(user_a), users.get_user(user_b)
        if ua and ub and ua.id_number_hash and ua.id_number_hash == ub.id_number_hash:
            reasons.add("identity")

    if "payout_account" not in reasons:
        hashes_a = {w.account_hash for w in wdr_store.query_for_user(user_a)}
        if hashes_a and any(w.account_hash in hashes_a for w in wdr_store.query_for_user(user_b)):
            reasons.add("payout_account")
    return sorted(reasons)


def note_identity_attempt(user_id: str, owner_id: str) -> str:
    """A user tried to verify with an ID number another account holds: link the two and flag the attempt."""
    from chalicelib.store import risk as risk_store

    risk_store.add_link(user_id, owner_id, "identity", _iso(clock.now()))
    return evaluate("identity_duplicate", user_id, {"holder": owner_id}, cause=f"identity:{owner_id}")


def note_payout_account_attempt(user_id: str, account_hash: str) -> str | None:
    """A user asked to withdraw to an account another user holds: link the two and flag the attempt."""
    from chalicelib.store import risk as risk_store
    from chalicelib.store import withdrawals as wdr_store

    pk, sk = keys.payout_account_claim(account_hash)
    try:
        owner = wdr_store.PayoutAccountClaim.get(pk, sk, consistent_read=True).user_id
    except wdr_store.PayoutAccountClaim.DoesNotExist:
        return None
    if owner == user_id:
        return None
    risk_store.add_link(user_id, owner, "payout_account", _iso(clock.now()))
    return evaluate(
        "payout_account_shared", user_id, {"holder": owner, "account": account_hash[:12]}, cause=f"acct:{account_hash}"
    )
