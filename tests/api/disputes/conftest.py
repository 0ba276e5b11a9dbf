"""Dispute tests: a funded task at the store level, a claim driven through the API to `rejected`, and helpers to
open, answer and resolve cases."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from chalicelib.domain import ledger as L
from chalicelib.store import ledger as books
from tests.api.claims.conftest import fresh, publish, publish_task  # noqa: F401
from tests.api.money.conftest import accounts, credit_wallet, fund, sandbox_provider  # noqa: F401

REASON = "截图与门店不符"
STORY = "我按要求到店扫码并拍照，截图就是该门店"


@dataclass
class Rejected:
    merchant: object
    worker: object
    task_id: str
    claim_id: str


def claim_and_submit(api, worker, task_id: str) -> str:
    c = api.post(f"/v1/tasks/{task_id}/claims", token=fresh(worker))
    assert c.status == 201, c.body
    cid = c.json["id"]
    p = api.post(f"/v1/claims/{cid}/proof", {"text": "万达店"}, token=fresh(worker))
    assert p.status == 200, p.body
    return cid


def reject(api, merchant, claim_id: str) -> None:
    r = api.post(f"/v1/claims/{claim_id}/reject", {"reason": REASON}, token=fresh(merchant))
    assert r.status == 200, r.body


@pytest.fixture
def rejected(api, users):
    """A merchant's task (2 slots, reward 1,000 + fee 50) with one claim rejected; its appeal window is open."""

    def make(slots: int = 2, reward: int = 1_000, **task_fields) -> Rejected:
        m, w = users.make("merchant"), users.make("worker")
        task_id = publish_task(m.id, slots=slots, reward=reward, **task_fields)
        cid = claim_and_submit(api, w, task_id)
        reject(api, m, cid)
        return Rejected(m, w, task_id, cid)

    return make


def appeal(api, worker, claim_id: str, **extra):
    body = {"kind": "appeal_rejection", "claim_id": claim_id, "description": STORY, **extra}
    return api.post("/v1/disputes", body, token=fresh(worker))


def open_appeal(api, r: Rejected) -> str:
    reply = appeal(api, r.worker, r.claim_id)
    assert reply.status == 201, reply.body
    return reply.json["id"]


def resolve(api, admin, dispute_id: str, outcome: str, **extra):
    body = {"outcome": outcome, "note": "核对截图后裁决", **extra}
    return api.post(f"/v1/admin/disputes/{dispute_id}/resolve", body, token=fresh(admin))


def available(*ids: str) -> list[int]:
    got = books.get_balances(list(ids))
    return [got[a].available for a in ids]


def posted(account: str) -> int:
    return books.get_balances([account])[account].posted


def fee_account(claim_id: str) -> str:
    return L.fee_revenue(f"settle:{claim_id}")


def upload_evidence(api, account) -> str:
    """Put an evidence file in `account`'s upload prefix, as the app would after `/v1/uploads`."""
    from chalicelib.adapters import aws
    from chalicelib.config import settings

    ticket = api.post(
        "/v1/uploads",
        {"purpose": "evidence", "content_type": "image/png", "size_bytes": 1024},
        token=fresh(account),
    )
    assert ticket.status == 200, ticket.body
    key = ticket.json["key"]
    aws.client("s3").put_object(Bucket=settings().bucket_name, Key=key, Body=b"\x89PNG" + b"0" * 100)
    return key
