"""The desk's user management: search by phone, id, role and status; detail; freeze/unfreeze; CSV export.

Lists read the user indexes only (GSI1 `USERS#<role>`, GSI2 `USERS#<role>#<status>`), newest first. A filter
that spans roles reads one partition per role (at most five Queries of `limit + 1` rows) and merges them; the
cursor is the sort key of the last row handed out, sealed to the listing's filters (docs/decisions/0110).
Phones are found through the phone blind index, never by reading users. Nothing here returns a phone, name or
ID number in clear: the desk sees the masks stored at registration and verification.
"""

from __future__ import annotations

import csv
import heapq
import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from chalicelib.adapters import clock, crypto
from chalicelib.domain.errors import NotFound
from chalicelib.domain.identity import normalize_phone
from chalicelib.domain.roles import ALL_ROLES, Caller
from chalicelib.services import accounts, audit
from chalicelib.store import cursor as cursors
from chalicelib.store import keys
from chalicelib.store import users as user_store

SHANGHAI = ZoneInfo("Asia/Shanghai")
STATUSES = ("active", "frozen")
EXPORT_MAX_ROWS = 5_000  # one file; a bigger export continues with the `X-Next-Cursor` the answer carries
EXPORT_PAGE = 100


@dataclass(frozen=True)
class UserPage:
    items: list[user_store.UserItem]
    next_cursor: str | None


def _partitions(role: str | None, status: str | None) -> list[tuple[str, str]]:
    roles = [role] if role else list(ALL_ROLES)
    if status:
        return [("GSI2", keys.users_role_status_partition(r, status)) for r in roles]
    return [("GSI1", keys.users_role_partition(r)) for r in roles]


def _sort_key(user: user_store.UserItem) -> str:
    return f"{user.created_at}#{user.user_id}"


def _lookup(q: str) -> user_store.UserItem | None:
    """`q` is a user id (`usr_…`) or a mainland mobile number (found by its blind index)."""
    text = q.strip()
    if text.startswith("usr_"):
        return user_store.get_user(text)
    phone = normalize_phone(text, field="q")
    user_id = user_store.user_id_for_phone(crypto.blind_index("phone", phone))
    return user_store.get_user(user_id) if user_id else None


def search(
    caller: Caller, *, q: str | None, role: str | None, status: str | None, limit: int, cursor: str | None
) -> UserPage:
    if q:
        user = _lookup(q)
        if user is None or (role and user.role != role) or (status and user.status != status):
            return UserPage([], None)
        return UserPage([user], None)
    scope = cursors.scope("admin.users", role=role, status=status)
    start = cursors.decode(cursor, scope)
    before = start["SK"]["S"] if start else None
    rows: list[user_store.UserItem] = []
    for index, partition in _partitions(role, status):
        rows.extend(user_store.list_partition(index, partition, before_sk=before, limit=limit + 1))
    merged = heapq.nlargest(limit + 1, rows, key=_sort_key)
    items = merged[:limit]
    more = len(merged) > limit
    next_cursor = cursors.encode({"SK": {"S": _sort_key(items[-1])}}, scope) if more and items else None
    return UserPage(items, next_cursor)


def detail(user_id: str) -> user_store.UserItem:
    user = user_store.get_user(user_id)
    if user is None:
        raise NotFound("NOT_FOUND", "用户不存在")
    return user


def set_frozen(
    caller: Caller, user_id: str, frozen: bool, *, reason: str | None, request_id: str
) -> user_store.UserItem:
    """Freeze or unfreeze (audit-logged with before/after in the same transaction); returns the fresh user."""
    accounts.set_frozen(caller, user_id, frozen, reason=reason, request_id=request_id)
    user = user_store.get_user(user_id, consistent=True)
    if user is None:
        raise NotFound("NOT_FOUND", "用户不存在")
    return user


EXPORT_HEADER = [
    "用户ID",
    "角色",
    "状态",
    "手机号",
    "实名状态",
    "姓名",
    "身份证号",
    "省份代码",
    "信用分",
    "注册时间（北京时间）",
    "冻结原因",
]


def _csv_safe(text: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection): a cell never starts with = + - @."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _local(iso: str) -> str:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def export_csv(
    caller: Caller, *, role: str | None, status: str | None, cursor: str | None, request_id: str
) -> tuple[str, str | None, int]:
    """Masked users as CSV (UTF-8 with BOM), read page by page from the indexes; `(text, next_cursor, rows)`.

    One file holds at most `EXPORT_MAX_ROWS` rows; the next file starts at the returned cursor. The export is
    recorded in the audit log (who pulled which list, how many rows)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_HEADER)
    rows = 0
    token = cursor
    while rows < EXPORT_MAX_ROWS:
        page = search(
            caller, q=None, role=role, status=status, limit=min(EXPORT_PAGE, EXPORT_MAX_ROWS - rows), cursor=token
        )
        for u in page.items:
            writer.writerow(
                [
                    u.user_id,
                    u.role,
                    u.status,
                    u.phone_masked,
                    u.real_name_status,
                    u.real_name_masked or "",
                    u.id_number_masked or "",
                    u.id_province or "",
                    int(u.credit_score),
                    _local(u.created_at),
                    _csv_safe(u.frozen_reason or ""),
                ]
            )
        rows += len(page.items)
        token = page.next_cursor
        if token is None:
            break
    audit.record(
        caller,
        "user.export",
        "user_list",
        f"role={role or '*'};status={status or '*'}",
        after={"rows": rows, "continued": cursor is not None},
        request_id=request_id,
    )
    return out.getvalue(), token, rows


def now_date() -> str:
    return clock.now().astimezone(SHANGHAI).date().isoformat()
