"""Dispute persistence: the case partition `DSP#<id>` (META, one PARTY# item per party, MSG# thread items), the
one-open-case-per-claim guard, and the transaction pieces that open, answer, escalate and resolve a case.

Indexes (docs/decisions/0090-disputes.md):
- META GSI2 `DUE#<yyyymmddhh>` / `<sla_due>#<id>` — only while the respondent's SLA runs; the deadline sweep
  reads it beside claims;
- META GSI3 `DISPUTES#<status>` / `<created>#<id>` — the desk's queue by status;
- PARTY GSI1 `PARTY#<user>#DISPUTES#open` — only while the case is open (a guarantee release checks it);
- PARTY GSI3 `PARTY#<user>#DISPUTES` / `<created>#<id>` — a user's own cases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.store import keys, tx
from chalicelib.store.base import Item
from chalicelib.store.claims import hour_bucket

Op = Callable[[tx.Tx], None]
CASE = "case"  # the transaction label of the META item: its failure means the case moved on


class DisputeItem(Item, discriminator="dispute"):
    dispute_id = UnicodeAttribute()
    dispute_kind = UnicodeAttribute()  # appeal_rejection | fake_task | worker_cheating | other
    status = UnicodeAttribute()  # open | answered | resolved
    outcome = UnicodeAttribute(null=True)  # worker_wins | merchant_wins | split (once resolved)
    claim_id = UnicodeAttribute()
    task_id = UnicodeAttribute()
    task_title = UnicodeAttribute(null=True)
    reward_fen = NumberAttribute(default=0)
    worker_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    opener_id = UnicodeAttribute()
    opener_role = UnicodeAttribute()
    respondent_id = UnicodeAttribute()
    respondent_role = UnicodeAttribute()
    description = UnicodeAttribute()
    evidence_keys = ListAttribute(of=UnicodeAttribute, null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    sla_due_at = UnicodeAttribute(null=True)
    answered_at = UnicodeAttribute(null=True)
    sla_missed = BooleanAttribute(null=True)  # the respondent stayed silent past the SLA
    message_count = NumberAttribute(default=0)
    resolved_at = UnicodeAttribute(null=True)
    resolved_by = UnicodeAttribute(null=True)  # an admin's user id, or `sla`
    resolution_id = UnicodeAttribute(null=True)  # which resolve call won (a concurrent loser finds another id)
    note = UnicodeAttribute(null=True)
    penalty_fen = NumberAttribute(null=True)
    split_worker_fen = NumberAttribute(null=True)
    worker_paid_fen = NumberAttribute(null=True)
    paid_from = UnicodeAttribute(null=True)  # escrow | guarantee


class DisputePartyItem(Item, discriminator="dispute_party"):
    dispute_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    role = UnicodeAttribute()  # worker | merchant


class DisputeMessageItem(Item, discriminator="dispute_message"):
    dispute_id = UnicodeAttribute()
    message_id = UnicodeAttribute()
    dispute_kind = UnicodeAttribute()
    author_id = UnicodeAttribute()
    author_role = UnicodeAttribute()
    text = UnicodeAttribute()
    evidence_keys = ListAttribute(of=UnicodeAttribute, null=True)
    created_at = UnicodeAttribute()
    worker_id = UnicodeAttribute()  # both parties ride along, so the notification consumer reads nothing
    merchant_id = UnicodeAttribute()


class OpenCaseGuard(Item, discriminator="dispute_guard"):
    """`CLM#<claim>`/`OPEN_DISPUTE`: exists exactly while a case on the claim is open."""

    dispute_id = UnicodeAttribute()


def queue_attrs(status: str, created_at: str, dispute_id: str) -> dict[str, str]:
    return {"GSI3PK": keys.disputes_by_status(status), "GSI3SK": f"{created_at}#{dispute_id}"}


def due_attrs(sla_due_at: str, dispute_id: str) -> dict[str, str]:
    return {"GSI2PK": keys.due_bucket(hour_bucket(sla_due_at)), "GSI2SK": f"{sla_due_at}#{dispute_id}"}


def party_item(dispute_id: str, user_id: str, role: str, created_at: str) -> DisputePartyItem:
    pk, sk = keys.dispute_party(dispute_id, user_id)
    return DisputePartyItem(
        PK=pk,
        SK=sk,
        dispute_id=dispute_id,
        user_id=user_id,
        role=role,
        GSI1PK=keys.party_open_disputes(user_id),
        GSI1SK=f"{created_at}#{dispute_id}",
        GSI3PK=keys.party_disputes(user_id),
        GSI3SK=f"{created_at}#{dispute_id}",
    )


def new_case_ops(case: DisputeItem, parties: list[DisputePartyItem]) -> Op:
    """The case, its parties and the claim's open-case guard — all new, in one transaction."""

    def apply(t: tx.Tx) -> None:
        t.put(case, label=CASE, condition=DisputeItem.PK.does_not_exist())
        for p in parties:
            t.put(p, label=f"party:{p.user_id}")
        gpk, gsk = keys.claim_open_dispute(case.claim_id)
        t.put(
            OpenCaseGuard(PK=gpk, SK=gsk, dispute_id=case.dispute_id),
            label="case_guard",
            condition=OpenCaseGuard.PK.does_not_exist(),
        )

    return apply


def message_ops(case: DisputeItem, msg: DisputeMessageItem, *, answers: bool, max_messages: int) -> Op:
    """Append a thread item; the respondent's first answer in time also moves the case `open → answered`."""
    pk, sk = keys.dispute(case.dispute_id)

    def apply(t: tx.Tx) -> None:
        t.put(msg, label="msg", condition=DisputeMessageItem.PK.does_not_exist())
        actions: list[Any] = [DisputeItem.message_count.add(1), DisputeItem.updated_at.set(msg.created_at)]
        cond = DisputeItem.status.is_in("open", "answered") & (
            DisputeItem.message_count.does_not_exist() | (DisputeItem.message_count < max_messages)
        )
        if answers:
            q = queue_attrs("answered", case.created_at, case.dispute_id)
            actions += [
                DisputeItem.status.set("answered"),
                DisputeItem.answered_at.set(msg.created_at),
                DisputeItem.GSI2PK.remove(),
                DisputeItem.GSI2SK.remove(),
                DisputeItem.GSI3PK.set(q["GSI3PK"]),
            ]
            cond = cond & (DisputeItem.status == "open")
        t.update(DisputeItem(PK=pk, SK=sk), actions, label=CASE, condition=cond)

    return apply


def escalate_ops(case: DisputeItem, now_iso: str) -> Op:
    """The SLA ran out without an automatic outcome: off the deadline index, marked for the desk."""
    pk, sk = keys.dispute(case.dispute_id)

    def apply(t: tx.Tx) -> None:
        t.update(
            DisputeItem(PK=pk, SK=sk),
            [
                DisputeItem.sla_missed.set(True),
                DisputeItem.updated_at.set(now_iso),
                DisputeItem.GSI2PK.remove(),
                DisputeItem.GSI2SK.remove(),
            ],
            label=CASE,
            condition=DisputeItem.status == "open",
        )

    return apply


def resolve_ops(case: DisputeItem, *, allowed: frozenset[str], now_iso: str, fields: dict[str, Any]) -> Op:
    """Close the case as read: status `resolved` with its outcome, off the SLA index and the parties' open
    index, the claim's guard gone."""
    pk, sk = keys.dispute(case.dispute_id)
    q = queue_attrs("resolved", case.created_at, case.dispute_id)

    def apply(t: tx.Tx) -> None:
        actions: list[Any] = [
            DisputeItem.status.set("resolved"),
            DisputeItem.resolved_at.set(now_iso),
            DisputeItem.updated_at.set(now_iso),
            DisputeItem.GSI2PK.remove(),
            DisputeItem.GSI2SK.remove(),
            DisputeItem.GSI3PK.set(q["GSI3PK"]),
        ]
        for name, value in fields.items():
            if value is not None:
                actions.append(getattr(DisputeItem, name).set(value))
        t.update(DisputeItem(PK=pk, SK=sk), actions, label=CASE, condition=DisputeItem.status.is_in(*allowed))
        for user_id in (case.worker_id, case.merchant_id):
            ppk, psk = keys.dispute_party(case.dispute_id, user_id)
            t.update(
                DisputePartyItem(PK=ppk, SK=psk),
                [DisputePartyItem.GSI1PK.remove(), DisputePartyItem.GSI1SK.remove()],
                label=f"party:{user_id}",
            )
        gpk, gsk = keys.claim_open_dispute(case.claim_id)
        t.delete(OpenCaseGuard(PK=gpk, SK=gsk), label="case_guard")

    return apply


def commit(ops: list[Op]) -> None:
    def build() -> tx.Tx:
        t = tx.Tx()
        for op in ops:
            op(t)
        return t

    tx.run(build, lambda t: t.commit())


def get(dispute_id: str) -> DisputeItem | None:
    pk, sk = keys.dispute(dispute_id)
    try:
        return DisputeItem.get(pk, sk, consistent_read=True)
    except DisputeItem.DoesNotExist:
        return None


def read_case(dispute_id: str, max_items: int) -> tuple[DisputeItem | None, list[DisputePartyItem], list[Any]]:
    """The whole case in one Query: META, parties and the thread (oldest first; bounded by the thread cap)."""
    meta: DisputeItem | None = None
    parties: list[DisputePartyItem] = []
    messages: list[DisputeMessageItem] = []
    for item in Item.query(keys.dispute_partition(dispute_id), consistent_read=True, limit=max_items):
        if isinstance(item, DisputeItem):
            meta = item
        elif isinstance(item, DisputePartyItem):
            parties.append(item)
        elif isinstance(item, DisputeMessageItem):
            messages.append(item)
    return meta, parties, messages


def query_party(user_id: str, **kwargs: Any) -> Any:
    return DisputePartyItem.gsi3.query(keys.party_disputes(user_id), scan_index_forward=False, **kwargs)


def query_status(status: str, **kwargs: Any) -> Any:
    return DisputeItem.gsi3.query(keys.disputes_by_status(status), scan_index_forward=False, **kwargs)


def batch_get(dispute_ids: list[str]) -> dict[str, DisputeItem]:
    if not dispute_ids:
        return {}
    found = DisputeItem.batch_get([keys.dispute(i) for i in dict.fromkeys(dispute_ids)], consistent_read=True)
    return {d.dispute_id: d for d in found}


def due_disputes(hour: str, until_iso: str, limit: int) -> list[DisputeItem]:
    return list(
        DisputeItem.gsi2.query(
            keys.due_bucket(hour), DisputeItem.GSI2SK <= f"{until_iso}#~", limit=limit, page_size=limit
        )
    )


def open_guard(claim_id: str) -> OpenCaseGuard | None:
    pk, sk = keys.claim_open_dispute(claim_id)
    try:
        return OpenCaseGuard.get(pk, sk, consistent_read=True)
    except OpenCaseGuard.DoesNotExist:
        return None
