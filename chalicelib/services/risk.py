"""The risk engine: flags with evidence, account links, payout holds, freezes and the rules evaluated on events."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters import clock
from chalicelib.adapters.log import logger
from chalicelib.domain import risk_rules as R
from chalicelib.domain.roles import Caller
from chalicelib.services import events
from chalicelib.store import flags, keys

SYSTEM = Caller(id="system:risk", role="system")

# Two accounts seen on one address within this long of each other are linked (shared NAT is why an IP is a
# weaker signal than a device id: a window keeps a campus or office from linking everyone it ever served).
IP_LINK_WINDOW = timedelta(hours=24)
HOLD_SCAN_LIMIT = 50  # a user's newest withdrawals looked at when a hold is placed or released


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
    if flags.get(flag_id) is not None:
        return flag_id
    # The action first, the flag last: if the action fails the record is redelivered and both are done then (each
    # action is idempotent); once the flag exists, nothing is re-applied.
    if rule.action == R.Action.HOLD_PAYOUTS:
        hold_payouts(subject, flag_id, rule.description)
    elif rule.action == R.Action.FREEZE:
        freeze(subject, flag_id, rule.description)
    elif rule.action == R.Action.PAUSE_MERCHANT:
        pause_merchant(subject, flag_id, rule.description)
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
    if new:
        logger.warning("risk rule hit", extra={"rule_id": rule_id, "subject": subject, "flag_id": flag_id})
    return flag_id


# ---------------------------------------------------------------- actions (each reversible by an admin)


def _audit(action: str, target_type: str, target_id: str, *, reason: str, before: Any, after: Any) -> None:
    from chalicelib.services import audit

    audit.record(SYSTEM, action, target_type, target_id, reason=reason, before=before, after=after)


def _set_withdrawal_holds(user_id: str, reason: str | None) -> list[str]:
    """Mark (or clear) `hold_reason` on the user's pending withdrawals; returns their ids."""
    from pynamodb.exceptions import UpdateError

    from chalicelib.store import withdrawals as wdr_store

    touched = []
    # Pending withdrawals are the newest ones (the daily cap bounds how many a user makes).
    for w in wdr_store.query_for_user(user_id, limit=HOLD_SCAN_LIMIT, page_size=HOLD_SCAN_LIMIT):
        if w.status != "pending":
            continue
        action = (
            wdr_store.WithdrawalItem.hold_reason.set(reason)
            if reason
            else wdr_store.WithdrawalItem.hold_reason.remove()
        )
        try:
            w.update(actions=[action], condition=wdr_store.WithdrawalItem.status == "pending")
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            continue  # settled meanwhile
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


# ---------------------------------------------------------------- rules on stream events

# The consumers below register when services/consumers.py imports this module (on the first event).


@events.on_change("sighting")
def on_sighting(change: events.Change) -> None:
    """Account clusters: a new account on a device (≥ 3) or on an address within the window (≥ 5)."""
    from chalicelib.store import sightings

    new = change.new or {}
    if not new or change.event_name == "REMOVE":
        return
    pk, user_id = str(change.keys.get("PK") or new.get("PK")), str(new.get("user_id"))
    if not new.get("GSI2PK"):
        # Sightings written inside the claim transaction carry no user index; add it here (the next change has it).
        sightings.SightingItem(PK=pk, SK=str(new["SK"])).update(
            actions=[
                sightings.SightingItem.GSI2PK.set(keys.user_sightings(user_id)),
                sightings.SightingItem.GSI2SK.set(pk),
            ]
        )
    if change.event_name != "INSERT":
        return  # only a new account on this device or address can make a cluster
    if pk.startswith("DEV#"):
        seen = sightings.users_on_device_hash(pk[4:])
        members = sorted({s.user_id for s in seen})
        if len(members) >= R.DEVICE_CLUSTER_MIN:
            evaluate("device_cluster", user_id, {"device": pk[4:16], "users": members, "count": len(members)}, cause=pk)
    elif pk.startswith("IP#"):
        since = _iso(clock.now() - timedelta(seconds=R.IP_CLUSTER_WINDOW_S))
        members = sorted({s.user_id for s in sightings.users_on_ip_hash(pk[3:]) if s.last_seen >= since})
        if len(members) >= R.IP_CLUSTER_MIN:
            day = clock.now().date().isoformat()
            evaluate(
                "ip_cluster", user_id, {"ip": pk[3:15], "users": members, "count": len(members)}, cause=f"{pk}:{day}"
            )


@events.on_change("claim")
def on_claim(change: events.Change) -> None:
    """Proof checks when a claim is submitted; the rejection breaker when a merchant reviews one."""
    new = change.new or {}
    if not new or not change.changed("status"):
        return
    status = new.get("status")
    if status == "submitted":
        check_proof(new)
    elif (change.old or {}).get("status") == "submitted" and status in ("accepted", "rejected"):
        if status == "rejected" or new.get("accepted_by") in (None, "merchant"):
            note_review(str(new["merchant_id"]), str(new["claim_id"]), rejected=status == "rejected")


def check_proof(claim: dict[str, Any]) -> list[str]:
    """Every proof rule on one submitted claim; returns the flag ids raised."""
    from chalicelib.store import tasks as task_store

    task = task_store.get_task(str(claim["task_id"]))
    raised: list[str] = []
    worker, claim_id = str(claim["worker_id"]), str(claim["claim_id"])
    proof = claim.get("proof") or {}
    if isinstance(proof, str):  # a JSONAttribute is a JSON string in the stream image
        proof = json.loads(proof)
    submitted = _parse(str(claim.get("submitted_at") or claim["updated_at"]))
    took = (submitted - _parse(str(claim["claimed_at"]))).total_seconds()
    steps = len(task.steps or []) if task else 0
    floor = R.proof_floor_seconds(steps)
    if took < floor:
        raised.append(
            evaluate(
                "proof_too_fast",
                worker,
                {"claim_id": claim_id, "task_id": claim["task_id"], "seconds": int(took), "floor_seconds": floor},
                cause=claim_id,
            )
        )
    raised += _duplicate_images(claim, proof.get("image_keys") or [])
    raised += _duplicate_text(claim, proof.get("text"))
    location = proof.get("location")
    if location:
        raised += _travel(worker, claim_id, float(location["lat"]), float(location["lng"]), submitted)
    return raised


def _content_check(kind: str, digest: str, claim: dict[str, Any], rule_id: str, evidence: dict[str, Any]) -> list[str]:
    from chalicelib.store import risk as risk_store

    worker, claim_id = str(claim["worker_id"]), str(claim["claim_id"])
    first = risk_store.first_content(
        kind, digest, user_id=worker, claim_id=claim_id, task_id=str(claim["task_id"]), at=_iso(clock.now())
    )
    if first.user_id == worker:
        return []
    evidence = {**evidence, "claim_id": claim_id, "first_worker": first.user_id, "first_claim_id": first.claim_id}
    return [evaluate(rule_id, worker, evidence, cause=f"{kind}:{digest}")]


def image_phash(data: bytes) -> str:
    """64-bit perceptual hash (hex) of an image (domain/phash.py); Pillow loads here, on the first proof image."""
    import io

    from PIL import Image

    from chalicelib.domain.phash import SIDE, phash_hex

    with Image.open(io.BytesIO(data)) as img:
        return phash_hex(img.convert("L").resize((SIDE, SIDE), Image.Resampling.LANCZOS).tobytes())


MAX_IMAGE_BYTES = 10 * 1024 * 1024


def _duplicate_images(claim: dict[str, Any], image_keys: list[str]) -> list[str]:
    from chalicelib.adapters import aws
    from chalicelib.config import settings

    raised: list[str] = []
    for key in image_keys:
        try:
            obj = aws.client("s3").get_object(Bucket=settings().bucket_name, Key=key)
            if int(obj.get("ContentLength") or 0) > MAX_IMAGE_BYTES:
                continue
            digest = image_phash(obj["Body"].read())
        except Exception as exc:  # an unreadable image is the reviewer's problem, not a stream failure to retry
            logger.info(
                "risk: proof image not hashed", extra={"claim_id": claim["claim_id"], "error": type(exc).__name__}
            )
            continue
        exact = _content_check("img", digest, claim, "proof_image_duplicate", {"image_key": key, "phash": digest})
        raised += exact or _near_image_in_task(claim, key, digest)
    return raised


TASK_IMAGE_HASHES = 300  # the newest proof-image hashes of one task kept for the near-duplicate comparison


def _near_image_in_task(claim: dict[str, Any], key: str, digest: str) -> list[str]:
    """A picture a few bits from another worker's on the same task (a crop, a sticker, a watermark): compared by
    Hamming distance against the task's recent hashes, which an exact-hash lookup cannot do."""
    from chalicelib.store import risk as risk_store

    worker, claim_id, task_id = str(claim["worker_id"]), str(claim["claim_id"]), str(claim["task_id"])
    mine = int(digest, 16)
    for _ in range(8):
        state, version = risk_store.get_versioned("task_images", task_id)
        seen: list[list[str]] = list(state.get("hashes") or [])
        near = [
            (h, w, c)
            for h, w, c in seen
            if w != worker and (int(h, 16) ^ mine).bit_count() <= R.IMAGE_HASH_MAX_DISTANCE
        ]
        redelivered = any(c == claim_id and h == digest for h, _w, c in seen)  # compare again, write nothing
        updated = {"hashes": [*seen, [digest, worker, claim_id]][-TASK_IMAGE_HASHES:]}
        if not redelivered and not risk_store.put_versioned(
            "task_images", task_id, updated, version, _iso(clock.now())
        ):
            continue  # another proof of this task landed first: read again
        if not near:
            return []
        h, w, c = near[0]  # the cause is this picture's hash: one flag however many it resembles
        evidence = {
            "image_key": key,
            "phash": digest,
            "distance": (int(h, 16) ^ mine).bit_count(),
            "claim_id": claim_id,
            "first_worker": w,
            "first_claim_id": c,
        }
        return [evaluate("proof_image_duplicate", worker, evidence, cause=f"img:{digest}")]
    raise RuntimeError("risk: task image hashes kept changing")  # the stream redelivers the record


MIN_TEXT_CHARS = 6  # "已完成" is everyone's text; a copied paragraph is not


def _duplicate_text(claim: dict[str, Any], text: str | None) -> list[str]:
    norm = "".join((text or "").split()).lower()
    if len(norm) < MIN_TEXT_CHARS:
        return []
    digest = hashlib.sha256(f"{claim['task_id']}\x00{norm}".encode()).hexdigest()[:32]
    return _content_check("txt", digest, claim, "proof_text_duplicate", {"task_id": claim["task_id"]})


def _travel(worker: str, claim_id: str, lat: float, lng: float, at: datetime) -> list[str]:
    from chalicelib.domain.tasks import haversine_m
    from chalicelib.store import risk as risk_store

    last = risk_store.get_state("last_location", worker)
    risk_store.put_state(
        "last_location", worker, {"lat": lat, "lng": lng, "at": _iso(at), "claim_id": claim_id}, _iso(at)
    )
    if not last or last.get("claim_id") == claim_id:
        return []
    km = haversine_m(float(last["lat"]), float(last["lng"]), lat, lng) / 1000
    hours = max((at - _parse(str(last["at"]))).total_seconds(), 1.0) / 3600
    if km < R.MIN_TRAVEL_KM or km / hours <= R.MAX_TRAVEL_KMH:
        return []
    evidence = {
        "claim_id": claim_id,
        "previous_claim_id": last.get("claim_id"),
        "km": round(km, 1),
        "minutes": round(hours * 60, 1),
        "kmh": round(km / hours),
    }
    return [evaluate("impossible_travel", worker, evidence, cause=claim_id)]


def note_geofence_attempt(worker: str, claim_id: str, task_id: str, distance_m: float, radius_m: float) -> str | None:
    """A proof refused for being outside the task's circle (services/claims.py calls this before refusing)."""
    if distance_m <= radius_m * R.GPS_FLAG_FACTOR:
        return None
    evidence = {"claim_id": claim_id, "task_id": task_id, "distance_m": int(distance_m), "radius_m": int(radius_m)}
    return evaluate("gps_outside_geofence", worker, evidence, cause=claim_id)


def note_review(merchant_id: str, claim_id: str, *, rejected: bool) -> str | None:
    """The mass-rejection breaker: the merchant's last N review outcomes; a reject share ≥ the threshold trips it."""
    from chalicelib.store import risk as risk_store

    for _ in range(8):
        state, version = risk_store.get_versioned("reviews", merchant_id)
        window: list[list[Any]] = list(state.get("window") or [])
        if any(c == claim_id for c, _ in window):
            return None  # a redelivered review
        window = ([*window, [claim_id, rejected]])[-R.REJECTION_WINDOW :]
        rejects = sum(1 for _, r in window if r)
        trips = int(state.get("trips") or 0)
        tripped = len(window) >= R.REJECTION_WINDOW and rejects / len(window) >= R.REJECTION_RATE
        new_state = {"window": [] if tripped else window, "trips": trips + 1 if tripped else trips}
        if not risk_store.put_versioned("reviews", merchant_id, new_state, version, _iso(clock.now())):
            continue  # another review of this merchant landed first: read again
        if not tripped:
            return None
        evidence = {"reviews": len(window), "rejected": rejects, "rate": round(rejects / len(window), 2)}
        return evaluate("merchant_mass_rejection", merchant_id, evidence, cause=f"trip:{trips + 1}")
    raise RuntimeError("risk: review window kept changing")  # the stream redelivers the record


@events.on_change("withdrawal")
def on_withdrawal(change: events.Change) -> None:
    """Withdrawal velocity, and a withdrawal soon after registration funded by referral rewards."""
    if change.event_name != "INSERT" or not change.new:
        return
    new = change.new
    user_id, withdrawal_id = str(new["user_id"]), str(new["withdrawal_id"])
    created = _parse(str(new["created_at"]))
    check_withdrawal_velocity(user_id, withdrawal_id, created)
    check_withdrawal_after_referral(user_id, withdrawal_id, created)


def check_withdrawal_velocity(user_id: str, withdrawal_id: str, at: datetime) -> str | None:
    from chalicelib.store import withdrawals as wdr_store

    since = _iso(at - timedelta(hours=24))
    recent = [
        w for w in wdr_store.query_for_user(user_id, limit=R.WITHDRAWALS_PER_DAY_FLAG + 1) if w.created_at >= since
    ]
    if len(recent) < R.WITHDRAWALS_PER_DAY_FLAG:
        return None
    evidence = {"withdrawals": sorted(w.withdrawal_id for w in recent), "hours": 24}
    # One flag per user per day, however many more follow the one that tripped it.
    return evaluate("withdrawal_velocity", user_id, evidence, cause=at.date().isoformat())


def check_withdrawal_after_referral(user_id: str, withdrawal_id: str, at: datetime) -> str | None:
    from chalicelib.domain import ledger as L
    from chalicelib.store import ledger as books
    from chalicelib.store import users

    user = users.get_user(user_id)
    if user is None or (at - _parse(user.created_at)).total_seconds() > R.NEW_ACCOUNT_WITHDRAWAL_S:
        return None
    income = referral = 0
    for e in books.query_entries(L.wallet(user_id), limit=200, page_size=200):
        if int(e.amount) > 0:
            income += int(e.amount)
            if e.transfer_id.startswith("referral:"):
                referral += int(e.amount)
    if referral <= 0 or referral < income * R.REFERRAL_SHARE_FLAG:
        return None
    evidence = {
        "withdrawal_id": withdrawal_id,
        "hours_since_registration": round((at - _parse(user.created_at)).total_seconds() / 3600, 1),
        "referral_fen": referral,
        "income_fen": income,
    }
    return evaluate("withdrawal_after_referral", user_id, evidence, cause=withdrawal_id)


# ---------------------------------------------------------------- the desk: list and resolve flags

RESOLUTIONS = ("dismiss", "confirm", "release_hold", "unfreeze", "resume_merchant", "freeze")
# Reversals may be applied to a flag already resolved (a confirmed hold is released later); verdicts may not.
_VERDICTS = ("dismiss", "confirm")


def list_flags(status: str, *, limit: int, page_cursor: str | None) -> tuple[list[Any], str | None]:
    from functools import partial

    from chalicelib.store import cursor

    return cursor.query_page(
        partial(flags.query_status, status),
        scope=cursor.scope("risk-flags", status=status),
        limit=limit,
        cursor=page_cursor,
    )


def _reverse_automatic(flag: Any, *, actor: Caller, reason: str, request_id: str | None) -> dict[str, Any]:
    """Undo what the flag's rule did automatically (a dismissed flag was a false positive)."""
    done: dict[str, Any] = {}
    if flag.action == R.Action.HOLD_PAYOUTS:
        done["released_withdrawals"] = release_payouts(flag.subject, actor=actor, reason=reason, request_id=request_id)
    elif flag.action == R.Action.FREEZE:
        done["unfrozen"] = unfreeze(flag.subject, actor=actor, reason=reason, request_id=request_id)
    elif flag.action == R.Action.PAUSE_MERCHANT:
        done["resumed_tasks"] = resume_merchant(flag.subject, flag, actor=actor, reason=reason, request_id=request_id)
    return done


def resolve_flag(actor: Caller, flag_id: str, action: str, *, note: str | None, request_id: str | None) -> Any:
    """The desk's decision on a flag, audit-logged; reversals undo the automatic action on the flag's subject."""
    from chalicelib.domain.errors import Conflict, Invalid, NotFound
    from chalicelib.services import audit

    if action not in RESOLUTIONS:
        raise Invalid({"action": "处理方式应为 " + " / ".join(RESOLUTIONS)})
    flag = flags.get(flag_id)
    if flag is None:
        raise NotFound("FLAG_NOT_FOUND", "风险标记不存在")
    if action in _VERDICTS and flag.status != "open":
        raise Conflict("FLAG_RESOLVED", "该风险标记已处理")
    reason = note or f"risk flag {flag.rule_id} {action}"
    user_subject = flag.subject.startswith("usr_")
    if action in ("release_hold", "unfreeze", "freeze", "resume_merchant") and not user_subject:
        raise Conflict("FLAG_SUBJECT_NOT_USER", "该标记的对象不是用户，无法执行此操作")
    effects: dict[str, Any] = {}
    if action == "dismiss":
        effects = _reverse_automatic(flag, actor=actor, reason=reason, request_id=request_id)
    elif action == "release_hold":
        if not payouts_held(flag.subject):
            raise Conflict("NO_PAYOUT_HOLD", "该用户的提现未被暂停")
        effects["released_withdrawals"] = release_payouts(
            flag.subject, actor=actor, reason=reason, request_id=request_id
        )
    elif action == "unfreeze":
        if not unfreeze(flag.subject, actor=actor, reason=reason, request_id=request_id):
            raise Conflict("NOT_FROZEN", "该用户未被冻结")
        effects["unfrozen"] = True
    elif action == "resume_merchant":
        if flag.rule_id != "merchant_mass_rejection":
            raise Conflict("FLAG_NOT_BREAKER", "只有批量驳回熔断的标记可以恢复商家任务")
        effects["resumed_tasks"] = resume_merchant(
            flag.subject, flag, actor=actor, reason=reason, request_id=request_id
        )
    elif action == "freeze":
        _admin_freeze(actor, flag, reason, request_id)
        effects["frozen"] = True
    now_iso = _iso(clock.now())
    if flag.status == "open":
        flags.resolve(flag, action, by=actor.id, at=now_iso, note=note)
    audit.record(
        actor,
        f"risk.flag.{action}",
        "flag",
        flag_id,
        reason=note,
        before={"status": flag.status, "rule_id": flag.rule_id, "subject": flag.subject},
        after={"status": "resolved", "resolution": action if flag.status == "open" else flag.resolution, **effects},
        request_id=request_id,
    )
    return flags.get(flag_id)


def _admin_freeze(actor: Caller, flag: Any, reason: str, request_id: str | None) -> None:
    from chalicelib.domain.errors import Conflict, NotFound
    from chalicelib.services import audit
    from chalicelib.store import users

    user = users.get_user(flag.subject, consistent=True)
    if user is None:
        raise NotFound("USER_NOT_FOUND", "用户不存在")
    if user.status == "frozen":
        raise Conflict("ALREADY_FROZEN", "该用户已被冻结")
    entry = audit.entry(
        actor, "risk.freeze", "user", flag.subject, reason=reason, before={"status": user.status},
        after={"status": "frozen", "flag_id": flag.flag_id}, request_id=request_id,
    )  # fmt: skip
    users.set_status_with_audit(flag.subject, "frozen", reason=reason, now_iso=_iso(clock.now()), audit_entry=entry)
