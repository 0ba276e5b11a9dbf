"""Fast, consistent seeding for `make bench`: accounts through the identity service, thousands of published and
funded tasks built with the store's own item classes and written in bulk (the bench server's loader).

A published task is what the approval path leaves behind: the task item (status `published`, counters), its
hall entries (`store/hall.entries`), and the escrow-fund transfer from its merchant's wallet, itself funded by
a sandbox deposit. Posting 10,000 transfers one transaction at a time would take longer than the whole bench,
so the ledger side is computed here with the domain's own arithmetic (`ledger.transfer_deltas`) and written as
the items `store/ledger.post` would have written: transfer items, statement entries with balance-after for
versioned accounts, and one balance item per account. The sum over all accounts is zero and every escrow holds
exactly `slots × unit cost`; `check_books` proves it after seeding by reading the balances back.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters import clock
from chalicelib.domain import ledger as L
from chalicelib.domain import tasks as T
from chalicelib.store import keys
from chalicelib.store import ledger as books
from chalicelib.store.base import Item
from chalicelib.store.hall import HallTask, entries
from chalicelib.store.ledger import AccountItem, EntryItem, TransferItem
from chalicelib.store.tasks import TaskItem
from tests.api.tasks import hall_seed

PASSWORD = "Bench-passw0rd!"
FEE_BPS = 500
_phones = itertools.count(1)
_phone_lock = threading.Lock()


def new_phone() -> str:
    with _phone_lock:
        n = next(_phones)
    return f"1370{n:07d}"


@dataclass(frozen=True)
class Person:
    user_id: str
    token: str
    phone: str


def make_people(n: int, role: str, threads: int = 4) -> list[Person]:
    """`n` signed-up accounts of `role` with fresh access tokens (identity service: argon2, uniqueness items)."""
    from chalicelib.services import auth, sessions

    def one(_: int) -> Person:
        phone = new_phone()
        user = auth.create_account(phone, PASSWORD, role)
        return Person(user.user_id, sessions.start_session(user).access_token, phone)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(n)))


def fresh_tokens(people: list[Person], threads: int = 4) -> list[Person]:
    """The same accounts with new access tokens (they live 10 minutes; seeding a large table takes a while)."""
    from chalicelib.services import sessions
    from chalicelib.store import users

    def one(p: Person) -> Person:
        user = users.get_user(p.user_id, consistent=True)
        return Person(p.user_id, sessions.start_session(user).access_token, p.phone)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, people))


def write_all(items: Iterable[Item], chunk: int = 5_000) -> int:
    """Write items as pynamodb serialises them, in bulk: `POST /__bench/load` on the bench's moto server
    (tests/bench/moto_fast.py) when the endpoint has it, else BatchWriteItem. Returns the number written."""
    import json
    import os
    import urllib.request

    from chalicelib.config import settings

    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    batch: list[Item] = []
    written = 0

    def flush(part: list[Item]) -> None:
        if endpoint:
            body = {
                "table": settings().table_name,
                "region": settings().region,
                "items": [item.serialize() for item in part],
            }
            request = urllib.request.Request(endpoint + "/__bench/load", data=json.dumps(body).encode(), method="POST")
            with urllib.request.urlopen(request, timeout=600) as resp:
                assert json.loads(resp.read())["loaded"] == len(part)
            return
        with Item.batch_write() as writer:
            for item in part:
                writer.save(item)

    # One chunk in flight while the next is built: the server loads while this process serialises.
    with ThreadPoolExecutor(1) as pool:
        pending = None
        for item in items:
            batch.append(item)
            if len(batch) == chunk:
                if pending is not None:
                    pending.result()
                pending = pool.submit(flush, batch)
                written += len(batch)
                batch = []
        if pending is not None:
            pending.result()
        if batch:
            flush(batch)
            written += len(batch)
    return written


def ledger_items(transfers: list[L.Transfer], at_iso: str) -> list[Item]:
    """The items `books.post` leaves for these transfers applied one after another from empty accounts."""
    out: list[Item] = []
    running: dict[str, L.Balance] = {}
    for n, tr in enumerate(transfers):
        pk, sk = keys.transfer(tr.id)
        out.append(
            TransferItem(
                PK=pk,
                SK=sk,
                transfer_id=tr.id,
                debit=tr.debit,
                credit=tr.credit,
                amount=tr.amount,
                code=str(tr.code),
                phase=str(tr.phase),
                status="posted",
                memo=tr.memo or None,
                created_at=at_iso,
            )
        )
        for account, delta in L.transfer_deltas(tr).items():
            before = running.get(account, L.Balance(account=account))
            running[account] = before.apply(delta)
            pol = L.policy(account)
            if not pol.keeps_entries or delta.available == 0:
                continue
            # Distinct, ordered entry keys: the seeded transfers share one timestamp otherwise.
            epk, esk = keys.entry(account, f"{at_iso[:-7]}{n % 1_000_000:06d}Z", tr.id)
            out.append(
                EntryItem(
                    PK=epk,
                    SK=esk,
                    account=account,
                    transfer_id=tr.id,
                    code=str(tr.code),
                    amount=delta.available,
                    balance_after=running[account].available if pol.versioned else None,
                    counterparty=tr.credit if account == tr.debit else tr.debit,
                    memo=tr.memo or L.ENTRY_LABELS.get(tr.code, tr.code),
                    created_at=at_iso,
                )
            )
    escrowed: dict[str, int] = {}
    for tr in transfers:
        if tr.code == L.Code.ESCROW_FUND:
            escrowed[tr.debit] = escrowed.get(tr.debit, 0) + tr.amount
    for account, bal in running.items():
        pk, sk = keys.account(account)
        out.append(
            AccountItem(
                PK=pk,
                SK=sk,
                account=account,
                debits_posted=bal.debits_posted,
                credits_posted=bal.credits_posted,
                debits_pending=bal.debits_pending,
                credits_pending=bal.credits_pending,
                available=bal.available,
                version=bal.version if L.policy(account).versioned else None,
                escrowed=escrowed.get(account),
            )
        )
    return out


def task_item(t: HallTask, slots: int) -> TaskItem:
    pk, sk = keys.task(t.task_id)
    proof: dict[str, Any] = {"text": "填写门店名称", "images_min": 0}
    if t.gps:
        proof["gps"] = t.gps
    return TaskItem(
        PK=pk,
        SK=sk,
        task_id=t.task_id,
        merchant_id=t.merchant_id,
        title=t.title,
        description="按步骤完成任务并提交截图，审核通过后发放奖励",
        category=t.category,
        steps=["打开", "完成", "截图"],
        proof=proof,
        eligibility=t.eligibility,
        reward_fen=t.reward_fen,
        slots=slots,
        claim_ttl_s=3600,
        review_ttl_s=86400,
        ends_at=t.ends_at,
        status="published",
        created_at=t.published_at,
        updated_at=t.published_at,
        published_at=t.published_at,
        fee_bps=FEE_BPS,
        unit_cost_fen=T.unit_cost_fen(t.reward_fen, FEE_BPS),
        member_boost=t.member_boost,
        slots_left=slots,
        fund_seq=1,
    )


@dataclass(frozen=True)
class SeededHall:
    tasks: list[HallTask]
    items_written: int
    escrow_fen: int


def seed_published_tasks(n: int, merchant_ids: list[str], progress: Callable[[str], None] = print) -> SeededHall:
    """`n` published, funded, hall-listed tasks spread over `merchant_ids` (hall_seed's realistic mix)."""
    at_iso = books.iso(clock.now())
    tasks = [
        dataclasses.replace(t, merchant_id=merchant_ids[i % len(merchant_ids)])
        for i, t in enumerate(hall_seed.make_tasks(n))
    ]
    transfers: list[L.Transfer] = []
    owed: dict[str, int] = {}
    for t in tasks:
        cost = t.slots_left * T.unit_cost_fen(t.reward_fen, FEE_BPS)
        owed[t.merchant_id] = owed.get(t.merchant_id, 0) + cost
    for merchant_id, amount in owed.items():
        transfers.append(
            L.Transfer(
                id=f"deposit:bench-{merchant_id}",
                debit=L.clearing("sandbox"),
                credit=L.wallet(merchant_id),
                amount=amount,
                code=L.Code.DEPOSIT,
                memo="压测充值",
            )
        )
    for t in tasks:
        transfers.append(
            L.Transfer(
                id=f"escrow-fund:{t.task_id}:1",
                debit=L.wallet(t.merchant_id),
                credit=L.escrow(t.task_id),
                amount=t.slots_left * T.unit_cost_fen(t.reward_fen, FEE_BPS),
                code=L.Code.ESCROW_FUND,
            )
        )

    def items() -> Iterable[Item]:
        for t in tasks:
            yield task_item(t, t.slots_left)
            yield from entries(t)
        yield from ledger_items(transfers, at_iso)

    written = write_all(items())
    progress(f"  wrote {written} items for {n} tasks ({len(transfers)} transfers)")
    return SeededHall(tasks, written, sum(owed.values()))


def check_books(seeded: SeededHall, sample: int = 200) -> None:
    """Escrow of a sample of tasks equals slots × unit cost; merchants' wallets are at zero; clearing balances."""
    accounts = [L.escrow(t.task_id) for t in seeded.tasks[:sample]]
    got = books.get_balances(accounts)
    for t in seeded.tasks[:sample]:
        want = t.slots_left * T.unit_cost_fen(t.reward_fen, FEE_BPS)
        assert got[L.escrow(t.task_id)].available == want, (t.task_id, got[L.escrow(t.task_id)], want)
    merchants = sorted({t.merchant_id for t in seeded.tasks})
    wallets = books.get_balances([L.wallet(m) for m in merchants])
    assert all(b.available == 0 for b in wallets.values()), wallets
    clearing = books.get_balances([L.clearing("sandbox")])[L.clearing("sandbox")]
    assert clearing.debits_posted >= seeded.escrow_fen
