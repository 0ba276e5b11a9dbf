"""Wallet use cases: balances, statement pages and CSV statements, all derived from the ledger."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chalicelib.adapters import clock
from chalicelib.adapters.payments.amounts import fen_to_yuan
from chalicelib.domain import ledger as L
from chalicelib.domain.errors import Invalid
from chalicelib.store import cursor
from chalicelib.store import ledger as books

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_STATEMENT_DAYS = 366


@dataclass(frozen=True)
class WalletView:
    available_fen: int
    frozen_fen: int
    guarantee_fen: int
    withdrawing_fen: int
    bonus_locked_fen: int


@dataclass(frozen=True)
class EntryView:
    id: str
    type: str
    type_label: str
    description: str
    amount_fen: int
    balance_after_fen: int | None
    created_at: str


def wallet(user_id: str) -> WalletView:
    """One BatchGetItem: the wallet, the locked bonus and the guarantee accounts."""
    accounts = books.get_account_items([L.wallet(user_id), L.bonus(user_id), L.guarantee(user_id)])
    w = accounts.get(L.wallet(user_id))
    b = accounts.get(L.bonus(user_id))
    g = accounts.get(L.guarantee(user_id))
    available = w.balance().available if w else 0
    escrowed = int(w.escrowed or 0) if w else 0
    locked = b.balance().available if b else 0
    return WalletView(
        available_fen=available,
        frozen_fen=locked + escrowed,
        guarantee_fen=g.balance().available if g else 0,
        withdrawing_fen=w.balance().debits_pending if w else 0,
        bonus_locked_fen=locked,
    )


def _entry_view(e: books.EntryItem) -> EntryView:
    return EntryView(
        id=e.transfer_id,
        type=e.code,
        type_label=L.ENTRY_LABELS.get(e.code, e.code),
        description=e.memo or L.ENTRY_LABELS.get(e.code, e.code),
        amount_fen=int(e.amount),
        balance_after_fen=int(e.balance_after) if e.balance_after is not None else None,
        created_at=e.created_at,
    )


def entries(user_id: str, *, limit: int, page_cursor: str | None) -> tuple[list[EntryView], str | None]:
    from functools import partial

    account = L.wallet(user_id)
    items, next_cursor = cursor.query_page(
        partial(books.query_entries, account),
        scope=cursor.scope("wallet.entries", user=user_id),
        limit=limit,
        cursor=page_cursor,
    )
    return [_entry_view(e) for e in items], next_cursor


def _yuan(fen: int) -> str:
    return ("-" if fen < 0 else "") + fen_to_yuan(abs(fen))


def statement_csv(user_id: str, start: date, end: date) -> str:
    """Lines from `start` to `end` inclusive, Asia/Shanghai calendar days, as CSV with a BOM for Excel."""
    if end < start:
        raise Invalid({"to": "结束日期不能早于开始日期"})
    if (end - start).days >= MAX_STATEMENT_DAYS:
        raise Invalid({"to": f"一次最多导出 {MAX_STATEMENT_DAYS} 天的流水"})
    today = clock.now().astimezone(SHANGHAI).date()
    if start > today:
        raise Invalid({"from": "开始日期不能晚于今天"})
    lo = datetime.combine(start, time(0), SHANGHAI)
    hi = datetime.combine(end + timedelta(days=1), time(0), SHANGHAI)
    lines = books.entries_between(L.wallet(user_id), books.iso(lo), books.iso(hi))
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["时间（北京时间）", "类型", "说明", "金额（元）", "余额（元）", "交易编号"])
    for e in lines:
        at = datetime.fromisoformat(e.created_at.replace("Z", "+00:00")).astimezone(SHANGHAI)
        writer.writerow(
            [
                at.strftime("%Y-%m-%d %H:%M:%S"),
                L.ENTRY_LABELS.get(e.code, e.code),
                _csv_safe(e.memo or ""),
                _yuan(int(e.amount)),
                _yuan(int(e.balance_after)) if e.balance_after is not None else "",
                e.transfer_id,
            ]
        )
    return out.getvalue()


def _csv_safe(text: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection): a cell never starts with = + - @."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
