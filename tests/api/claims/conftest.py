"""Claim tests: a published, funded task made at the store level (the task routes have their own tests)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from chalicelib.adapters import clock, ids
from chalicelib.domain import ledger as L
from chalicelib.domain import tasks as T
from chalicelib.store import keys
from chalicelib.store import ledger as books
from chalicelib.store.tasks import TaskItem
from tests.api.money.conftest import accounts, credit_wallet, fund, sandbox_provider, verified  # noqa: F401

_n = itertools.count(1)


@pytest.fixture
def publish():
    return publish_task


def publish_task(merchant_id: str, *, slots: int = 3, reward: int = 1_000, fee_bps: int = 500, **fields):
    """Publish a funded task for `merchant` as the approval path does: escrow = slots × (reward + fee)."""
    task_id = ids.new_id("tsk")
    now = clock.now()
    now_iso = books.iso(now)
    unit = T.unit_cost_fen(reward, fee_bps)
    credit_wallet(merchant_id, slots * unit)
    pk, sk = keys.task(task_id)
    defaults = dict(
        title=f"门店地推扫码 {next(_n)}",
        description="到指定门店扫码关注并拍照打卡，按要求提交截图",
        category="promotion",
        steps=["到店", "扫码", "拍照"],
        proof={"text": "填写门店名称", "images_min": 0},
        eligibility={},
        claim_ttl_s=3600,
        review_ttl_s=86400,
        ends_at=books.iso(now + timedelta(days=3)),
    )
    defaults.update(fields)
    item = TaskItem(
        PK=pk,
        SK=sk,
        task_id=task_id,
        merchant_id=merchant_id,
        reward_fen=reward,
        slots=slots,
        status="published",
        created_at=now_iso,
        updated_at=now_iso,
        published_at=now_iso,
        fee_bps=fee_bps,
        unit_cost_fen=unit,
        slots_left=slots,
        **defaults,
    )
    item.save()
    books.post(
        [
            L.Transfer(
                id=f"escrow-fund:{task_id}:1",
                debit=L.wallet(merchant_id),
                credit=L.escrow(task_id),
                amount=slots * unit,
                code=L.Code.ESCROW_FUND,
            )
        ],
        aux={L.wallet(merchant_id): {"escrowed": slots * unit}},
    )
    return task_id


def fresh(account) -> str:
    """A new access token for `account` (access tokens live 15 minutes on the stage clock)."""
    from chalicelib.services import sessions
    from chalicelib.store import users

    return sessions.start_session(users.get_user(account.id, consistent=True)).access_token
