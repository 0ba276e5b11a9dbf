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
TOTAL = "all"  # the all-time row: STAT#finance#all / all
MAX_ROWS = 2_000  # buckets from `from` to today: ~5 years of days
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
    """What one stored transfer adds to the finance rollup (only money that actually moved: posted phases).

    Income and spend are classified by the accounts the transfer touches (the ledger's truth), deposits and
    withdrawals by their codes (the clearing and payout accounts are per channel)."""
    code, phase, amount = transfer.get("code"), transfer.get("phase"), int(transfer.get("amount", 0))
    if phase == L.Phase.PENDING or phase == L.Phase.VOID_PENDING or amount <= 0:
        return {}
    credit = str(transfer.get("credit", ""))
    debit = str(transfer.get("debit", ""))
    out: dict[str, int] = {}
    if code == L.Code.DEPOSIT:
        out["deposits_fen"], out["deposits_count"] = amount, 1
    elif code == L.Code.WITHDRAWAL and debit.startswith("wallet:"):
        out["withdrawals_fen"], out["withdrawals_count"] = amount, 1
    revenue = {
        L.REVENUE_MEMBERSHIP: "membership_fen",
        L.REVENUE_PROMOTION: "promotion_fen",
        L.REVENUE_PENALTY: "penalty_fen",
    }
    for account, sign in ((credit, 1), (debit, -1)):
        name = "fees_fen" if account.startswith("revenue:fee") else revenue.get(account)
        if name:
            out[name] = out.get(name, 0) + sign * amount
    if debit == L.EXPENSE_PROMO:
        out["promo_spend_fen"] = out.get("promo_spend_fen", 0) + amount
    elif credit == L.EXPENSE_PROMO:  # a promotion clawed back
        out["promo_spend_fen"] = out.get("promo_spend_fen", 0) - amount
    if credit.startswith("escrow:"):
        out["escrow_in_fen"] = out.get("escrow_in_fen", 0) + amount
    if debit.startswith("escrow:"):
        out["escrow_out_fen"] = out.get("escrow_out_fen", 0) + amount
    return {k: v for k, v in out.items() if v}


@events.on_change("transfer")
def on_transfer(change: events.Change) -> None:
    if change.event_name != "INSERT" or not change.new:
        return
    t = change.new
    counters = counters_for(t)
    if counters:
        at = datetime.fromisoformat(str(t["created_at"]).replace("Z", "+00:00"))
        # The all-time row gives the escrow outstanding at any bucket's end (docs/decisions/0113).
        rollups.add_once(METRIC, str(t["transfer_id"]), {**buckets(at), TOTAL: TOTAL}, counters)


def summary(period: str, start: date, end: date) -> list[dict]:
    """One row per bucket from `start` to `end` (Asia/Shanghai dates, inclusive), from the rollups only.

    `escrow_outstanding_fen` is what escrow held at the end of the bucket: the all-time net minus the net of
    every later bucket (read in the same Query, which runs to the latest bucket)."""
    if end < start:
        raise Invalid({"to": "结束日期不能早于开始日期"})
    if (end - start).days > 400:
        raise Invalid({"to": "一次最多查询 400 天"})
    first = buckets(datetime.combine(start, datetime.min.time(), SHANGHAI))[period]
    last = buckets(datetime.combine(end, datetime.min.time(), SHANGHAI) + timedelta(hours=12))[period]
    rows = rollups.read(METRIC, period, first, "~", limit=MAX_ROWS)
    total = rollups.read(METRIC, TOTAL, TOTAL, TOTAL, limit=1)
    held = _net(total[0]) if total else 0
    later = 0
    out: list[dict] = []
    for r in reversed(rows):  # newest first, so each bucket knows the net of the buckets after it
        bucket = str(r.get("bucket"))
        if bucket <= last:
            out.append(
                {"bucket": bucket, **{f: int(r.get(f, 0)) for f in FIELDS}, "escrow_outstanding_fen": held - later}
            )
        later += _net(r)
    return out[::-1]


def _net(row: dict) -> int:
    return int(row.get("escrow_in_fen", 0)) - int(row.get("escrow_out_fen", 0))
