"""The merchant guarantee deposit (保证金): locked from the wallet, released only with nothing open.

Locking moves wallet → `guarantee:<merchant>` (a protected account of its own, shown as `guarantee_fen`);
release moves all of it back. Admin decisions (disputes, penalties) debit it later. A held guarantee (risk
engine) cannot be released.
"""

from __future__ import annotations

from chalicelib.adapters import ids
from chalicelib.config import settings
from chalicelib.domain import ledger as L
from chalicelib.domain.errors import Conflict, Invalid
from chalicelib.store import ledger as books

OPEN_TASK_STATUSES = ("pending_review", "approved_unfunded", "published", "paused")


def lock(merchant_id: str, amount_fen: int) -> int:
    """Top the guarantee up by `amount_fen`; the total must end within the stage's range. Returns the total."""
    cfg = settings()
    current = books.get_balances([L.guarantee(merchant_id)])[L.guarantee(merchant_id)].available
    total = current + amount_fen
    if total < cfg.guarantee_min_fen or total > cfg.guarantee_max_fen:
        raise Invalid(
            {"amount_fen": f"保证金总额应在 {cfg.guarantee_min_fen // 100} 到 {cfg.guarantee_max_fen // 100} 元之间"},
            code="GUARANTEE_OUT_OF_RANGE",
        )
    books.post(
        [
            L.Transfer(
                id=f"guarantee-lock:{ids.new_id('req')}",
                debit=L.wallet(merchant_id),
                credit=L.guarantee(merchant_id),
                amount=amount_fen,
                code=L.Code.GUARANTEE_LOCK,
                memo="缴纳保证金",
            )
        ]
    )
    return total


def release(merchant_id: str) -> int:
    """Return the whole guarantee to the wallet, if no task or dispute is open and no hold is on it."""
    from chalicelib.store import guarantee as store

    if store.is_held(merchant_id):
        raise Conflict("GUARANTEE_HELD", "保证金因风控审核被暂扣，审核结束前无法退回")
    if store.has_open_tasks(merchant_id, OPEN_TASK_STATUSES) or store.has_open_disputes(merchant_id):
        raise Conflict("GUARANTEE_IN_USE", "仍有进行中的任务或纠纷，结束后才能退回保证金")
    amount = books.get_balances([L.guarantee(merchant_id)])[L.guarantee(merchant_id)].available
    if amount <= 0:
        raise Conflict("GUARANTEE_EMPTY", "当前没有可退回的保证金")
    books.post(
        [
            L.Transfer(
                id=f"guarantee-release:{ids.new_id('req')}",
                debit=L.guarantee(merchant_id),
                credit=L.wallet(merchant_id),
                amount=amount,
                code=L.Code.GUARANTEE_RELEASE,
                memo="保证金退回",
            )
        ]
    )
    return amount
