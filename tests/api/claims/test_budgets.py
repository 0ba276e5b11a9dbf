"""Operation budgets per request, held as assertions: they are deterministic (issue 10).

Every request is measured warm (the caller's session state cached, as on a warm Lambda) with DynamoDB
calls counted on every client. No request path may Scan.
"""

from __future__ import annotations

from tests.api.claims.test_claim_lifecycle import claim, prove
from tests.opcount import count_ops


def warm(api, user) -> None:
    api.get("/v1/wallet", token=user.token)  # caches the caller's session state, as a warm Lambda has it


def test_claim_is_one_transaction_and_at_most_two_reads(api, accounts, publish):
    m, w = accounts.make("merchant"), accounts.make("worker")
    task_id = publish(m.id, slots=2)
    warm(api, w)
    with count_ops() as ops:
        reply = claim(api, w, task_id)
    assert reply.status == 201
    print("claim:", ops.summary())
    assert ops.ops["TransactWriteItems"] == 1
    assert ops.reads <= 2, ops.summary()
    assert ops.ops["Scan"] == 0


def test_accept_is_one_linked_ledger_transaction_and_at_most_three_reads(api, accounts, publish):
    m, w = accounts.make("merchant"), accounts.make("worker")
    task_id = publish(m.id, slots=1)
    cid = claim(api, w, task_id).json["id"]
    prove(api, w, cid)
    warm(api, m)
    with count_ops() as ops:
        reply = api.post(f"/v1/claims/{cid}/accept", {"rating": 5}, token=m.token)
    assert reply.status == 200, reply.body
    print("accept:", ops.summary())
    assert ops.ops["TransactWriteItems"] == 1
    assert ops.reads <= 3, ops.summary()
    assert ops.ops["Scan"] == 0


def test_wallet_is_at_most_two_reads(api, accounts, fund):
    w = accounts.make("worker")
    fund(w.id, 500)
    warm(api, w)
    with count_ops() as ops:
        reply = api.get("/v1/wallet", token=w.token)
    assert reply.status == 200
    print("wallet:", ops.summary())
    assert ops.reads <= 2 and sum(ops.ops.values()) == ops.reads


def test_a_scan_on_a_request_path_is_caught(api, accounts, monkeypatch):
    """The counter itself: a route that scans shows up (here: a deliberately broken wallet)."""
    from chalicelib.config import settings
    from chalicelib.services import wallet
    from chalicelib.store.base import table_client

    real = wallet.wallet

    def scanning_wallet(user_id: str):
        table_client().scan(TableName=settings().table_name, Limit=1)
        return real(user_id)

    monkeypatch.setattr(wallet, "wallet", scanning_wallet)
    w = accounts.make("worker")
    warm(api, w)
    with count_ops() as ops:
        api.get("/v1/wallet", token=w.token)
    assert ops.ops["Scan"] == 1
