"""Finance rollups from the ledger's transfers (stream consumer) and the desk's summary of them.

Buckets are Asia/Shanghai calendar periods: day `2026-11-25`, ISO week `2026-W48`, month `2026-11`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.domain import ledger as L
from chalicelib.domain.errors import Invalid
from chalicelib.services import events
from chalicelib.store import rollups

SHANGHAI = ZoneInfo("Asia/Shanghai")
METRIC = "finance"
FIELDS = (
    "deposits_fen",
    "deposits_count",
    "withdrawals_fen",
    "withdrawals_count",
    "fees_fen",
    "membership_fen",
    "promotion_fen",
    "penalty_fen",
    "promo_spend_fen",
    "escrow_in_fen",
    "escrow_out_fen",
)


def buckets(at: datetime) -> dict[str, str]:
    local = at.astimezone(SHANGHAI).date()
    iso_year, iso_week, _ = local.isocalendar()
    return {"day": local.isoformat(), "week": f"{iso_year}-W{iso_week:02d}", "month": local.strftime("%Y-%m")}


def counters_for(transfer: dict) -> dict[str, int]:
    """What one stored transfer adds to the finance rollup (only money that actually moved: posted phases)."""
    code, phase, amount = transfer.get("code"), transfer.get("phase"), int(transfer.get("amount", 0))
    if phase == L.Phase.PENDING or phase == L.Phase.VOID_PENDING or amount <= 0:
        return {}
    credit = str(transfer.get("credit", ""))
    debit = str(transfer.get("debit", ""))
    out: dict[str, int] = {}
    if code == L.Code.DEPOSIT:
        out = {"deposits_fen": amount, "deposits_count": 1}
    elif code == L.Code.WITHDRAWAL and phase == L.Phase.POST_PENDING:
        out = {"withdrawals_fen": amount, "withdrawals_count": 1}
    elif code == L.Code.FEE:
        out = {"fees_fen": amount}
    elif code == L.Code.MEMBERSHIP:
        out = {"membership_fen": amount}
    elif code == L.Code.PROMOTION:
        out = {"promotion_fen": amount}
    elif code == L.Code.PENALTY:
        out = {"penalty_fen": amount}
    elif debit == L.EXPENSE_PROMO:
        out = {"promo_spend_fen": amount}
    if credit.startswith("escrow:"):
        out["escrow_in_fen"] = out.get("escrow_in_fen", 0) + amount
    if debit.startswith("escrow:"):
        out["escrow_out_fen"] = out.get("escrow_out_fen", 0) + amount
    return out


@events.on_change("transfer")
def on_transfer(change: events.Change) -> None:
    if change.event_name != "INSERT" or not change.new:
        return
    t = change.new
    counters = counters_for(t)
    if counters:
        at = datetime.fromisoformat(str(t["created_at"]).replace("Z", "+00:00"))
        rollups.add_once(METRIC, str(t["transfer_id"]), buckets(at), counters)


def summary(period: str, start: date, end: date) -> list[dict]:
    if end < start:
        raise Invalid({"to": "结束日期不能早于开始日期"})
    if (end - start).days > 400:
        raise Invalid({"to": "一次最多查询 400 天"})
    first = buckets(datetime.combine(start, datetime.min.time(), SHANGHAI))[period]
    last = buckets(datetime.combine(end, datetime.min.time(), SHANGHAI) + timedelta(hours=12))[period]
    rows = rollups.read(METRIC, period, first, last)
    return [{"bucket": r.get("bucket"), **{f: int(r.get(f, 0)) for f in FIELDS}} for r in rows]
