"""The ledger in the table: balances (`ACCT#<account>`/`BAL`), transfers (`XFER#<id>`), statement entries.

`post(transfers, ...)` writes a linked batch in ONE transaction: every transfer item (conditional on its id
being new — the id is the idempotency key), one merged balance update per account (conditional on
`available` for protected accounts, and on `version` for accounts whose entries carry balance-after), the
statement entries, the second-phase state changes of held transfers, and any extra items the caller's use
case must change atomically with the money (a claim's status, a task's counters). A replay of an applied
batch returns the stored transfers and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.expressions.condition import Condition

from chalicelib.adapters import clock
from chalicelib.domain import ledger as L
from chalicelib.domain.errors import Conflict, DomainError
from chalicelib.store import keys, tx
from chalicelib.store.base import Item

MAX_VERSION_RETRIES = 64  # one human's wallet rarely races; 32 concurrent withdrawals need ~32 rounds


class AccountItem(Item, discriminator="account"):
    account = UnicodeAttribute()
    debits_posted = NumberAttribute(default=0)
    credits_posted = NumberAttribute(default=0)
    debits_pending = NumberAttribute(default=0)
    credits_pending = NumberAttribute(default=0)
    available = NumberAttribute(default=0)
    version = NumberAttribute(null=True)
    # Informational aggregate on a merchant's wallet: money of theirs held in task escrows.
    escrowed = NumberAttribute(null=True)

    def balance(self) -> L.Balance:
        return L.Balance(
            account=self.account,
            debits_posted=int(self.debits_posted or 0),
            credits_posted=int(self.credits_posted or 0),
            debits_pending=int(self.debits_pending or 0),
            credits_pending=int(self.credits_pending or 0),
            version=int(self.version or 0),
        )


class TransferItem(Item, discriminator="transfer"):
    transfer_id = UnicodeAttribute()
    debit = UnicodeAttribute()
    credit = UnicodeAttribute()
    amount = NumberAttribute()
    code = UnicodeAttribute()
    phase = UnicodeAttribute()
    status = UnicodeAttribute()  # posted | pending | posted_pending (completed hold) | voided | void | post
    pending_id = UnicodeAttribute(null=True)
    pending_amount = NumberAttribute(null=True)
    memo = UnicodeAttribute(null=True)
    meta = MapAttribute(null=True)
    created_at = UnicodeAttribute()

    def to_domain(self) -> L.Transfer:
        return L.Transfer(
            id=self.transfer_id,
            debit=self.debit,
            credit=self.credit,
            amount=int(self.amount),
            code=self.code,
            phase=L.Phase(self.phase),
            pending_id=self.pending_id,
            pending_amount=int(self.pending_amount or 0),
            memo=self.memo or "",
            meta={k: str(v) for k, v in (self.meta.as_dict() if self.meta else {}).items()},
        )


class EntryItem(Item, discriminator="entry"):
    account = UnicodeAttribute()
    transfer_id = UnicodeAttribute()
    code = UnicodeAttribute()
    amount = NumberAttribute()  # signed change of the account's available balance
    balance_after = NumberAttribute(null=True)
    counterparty = UnicodeAttribute(null=True)
    memo = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()


@dataclass(frozen=True)
class Extra:
    """An item the use case changes in the same transaction, with the domain error if its condition fails."""

    apply: Callable[[tx.Tx], None]  # adds exactly the ops labelled with `label` (prefix)
    label: str
    error: DomainError


def iso(at: datetime) -> str:
    """Sortable UTC timestamp used in entry keys (microseconds, `Z`)."""
    return clock.iso(at)


def get_balances(accounts: Iterable[str], consistent: bool = True) -> dict[str, L.Balance]:
    accounts = list(dict.fromkeys(accounts))
    out = {a: L.Balance(account=a) for a in accounts}
    if not accounts:
        return out
    found = AccountItem.batch_get([keys.account(a) for a in accounts], consistent_read=consistent)
    for item in found:
        out[item.account] = item.balance()
    return out


def get_account_items(accounts: list[str]) -> dict[str, AccountItem]:
    """The raw account items (with informational counters), one BatchGetItem."""
    found = AccountItem.batch_get([keys.account(a) for a in dict.fromkeys(accounts)], consistent_read=True)
    return {item.account: item for item in found}


def get_account(account: str) -> AccountItem | None:
    pk, sk = keys.account(account)
    try:
        return AccountItem.get(pk, sk, consistent_read=True)
    except AccountItem.DoesNotExist:
        return None


def get_transfer(transfer_id: str) -> L.Transfer | None:
    item = get_transfer_item(transfer_id)
    return item.to_domain() if item else None


def get_transfer_item(transfer_id: str) -> TransferItem | None:
    pk, sk = keys.transfer(transfer_id)
    try:
        return TransferItem.get(pk, sk, consistent_read=True)
    except TransferItem.DoesNotExist:
        return None


def _same(a: L.Transfer, b: L.Transfer) -> bool:
    return (a.debit, a.credit, a.amount, a.code, a.phase, a.pending_id) == (
        b.debit,
        b.credit,
        b.amount,
        b.code,
        b.phase,
        b.pending_id,
    )


@dataclass(frozen=True)
class Posted:
    transfers: list[L.Transfer]
    replayed: bool


def post(
    transfers: list[L.Transfer],
    *,
    extras: list[Extra] | None = None,
    aux: dict[str, dict[str, int]] | None = None,
    known: dict[str, L.Balance] | None = None,
) -> Posted:
    """Apply a linked batch atomically. Raises a domain error (insufficient balance, wrong state) or returns.

    `aux` adds informational counters to account items in the same transaction (e.g. a merchant wallet's
    `escrowed`). `known` passes balances the caller has just read, saving a read.
    """
    if not transfers:
        raise ValueError("empty batch")
    extras = extras or []
    aux = aux or {}
    deltas = L.batch_deltas(transfers)
    versioned = [a for a in deltas if L.policy(a).versioned]
    state: dict[str, L.Balance] = dict(known or {})

    def refresh() -> None:
        missing = [a for a in versioned if a not in state]
        if missing:
            state.update(get_balances(missing))

    refresh()
    try:
        for account, delta in deltas.items():
            if account in state:
                L.check_flags(state[account], delta)
    except Conflict:
        if get_transfer_item(transfers[0].id) is not None:
            return Posted(transfers=_replayed(transfers), replayed=True)
        raise

    def build() -> tx.Tx:
        now = clock.now()
        t = tx.Tx()
        for tr in transfers:
            _add_transfer(t, tr, now)
        running = {a: state[a] for a in versioned}
        # A batch's lines share one timestamp, so a statement lists them by transfer id: compute balance-after in
        # that order, or two lines of one account in one batch would show their running balances swapped.
        for tr in sorted(transfers, key=lambda x: x.id):
            for account in (tr.debit, tr.credit):
                pol = L.policy(account)
                amount = L.entry_amount(tr, account)
                if not pol.keeps_entries or amount == 0:
                    continue
                after = None
                if pol.versioned:
                    running[account] = running[account].apply(L.transfer_deltas(tr)[account])
                    after = running[account].available
                counter = tr.credit if account == tr.debit else tr.debit
                pk, sk = keys.entry(account, iso(now), tr.id)
                t.put(
                    EntryItem(
                        PK=pk,
                        SK=sk,
                        account=account,
                        transfer_id=tr.id,
                        code=tr.code,
                        amount=amount,
                        balance_after=after,
                        counterparty=counter,
                        memo=tr.memo or L.ENTRY_LABELS.get(tr.code, tr.code),
                        created_at=iso(now),
                    ),
                    label=f"entry:{account}:{tr.id}",
                )
        for account, delta in deltas.items():
            _add_balance_update(t, account, delta, state.get(account), aux.get(account))
        for account, counters in aux.items():
            if account not in deltas:
                pk, sk = keys.account(account)
                actions = [getattr(AccountItem, name).add(value) for name, value in counters.items()]
                actions += [AccountItem.account.set(account), AccountItem.kind.set(AccountItem)]
                t.update(AccountItem(PK=pk, SK=sk), actions, label=f"aux:{account}")
        for extra in extras:
            extra.apply(t)
        return t

    attempts = 0
    while True:
        attempts += 1
        try:
            tx.run(build, lambda t: t.commit())
            return Posted(transfers=transfers, replayed=False)
        except tx.TxCancelled as cancelled:
            # 1. A transfer id already exists: a replay (same batch) or a misuse (different transfer).
            if cancelled.failed_label("xfer:"):
                return Posted(transfers=_replayed(transfers), replayed=True)
            # 2. A second phase found its hold already completed.
            label = cancelled.failed_label("hold:")
            if label:
                raise Conflict("TRANSFER_ALREADY_COMPLETED", "该笔冻结资金已处理") from None
            # 3. The caller's own conditions (claim status, counters...).
            for extra in extras:
                if cancelled.failed_label(extra.label):
                    raise extra.error from None
            # 4. Balances: a stale version is retried with fresh reads; a lack of funds is final.
            label = cancelled.failed_label("bal:")
            if label and attempts < MAX_VERSION_RETRIES:
                account = label.removeprefix("bal:")
                fresh = get_balances([account])[account]
                L.check_flags(fresh, deltas[account])  # raises insufficient when that was the cause
                state[account] = fresh  # otherwise its version moved on: rebuild on the fresh balance
                continue
            raise


def _replayed(transfers: list[L.Transfer]) -> list[L.Transfer]:
    stored = [get_transfer(tr.id) for tr in transfers]
    for new, old in zip(transfers, stored, strict=True):
        if old is None or not _same(new, old):
            # The batch was not applied (its first transfer exists but belongs to a different movement).
            raise Conflict("TRANSFER_ID_REUSED", "交易编号冲突，请联系客服") from None
    return [s for s in stored if s is not None]


def _add_transfer(t: tx.Tx, tr: L.Transfer, now: datetime) -> None:
    pk, sk = keys.transfer(tr.id)
    status = {
        L.Phase.POSTED: "posted",
        L.Phase.PENDING: "pending",
        L.Phase.POST_PENDING: "post",
        L.Phase.VOID_PENDING: "void",
    }[tr.phase]
    item = TransferItem(
        PK=pk,
        SK=sk,
        transfer_id=tr.id,
        debit=tr.debit,
        credit=tr.credit,
        amount=tr.amount,
        code=str(tr.code),
        phase=str(tr.phase),
        status=status,
        pending_id=tr.pending_id,
        pending_amount=tr.pending_amount or None,
        memo=tr.memo or None,
        meta=tr.meta or None,
        created_at=iso(now),
    )
    t.put(item, label=f"xfer:{tr.id}", condition=TransferItem.PK.does_not_exist())
    if tr.phase in (L.Phase.POST_PENDING, L.Phase.VOID_PENDING):
        assert tr.pending_id is not None
        hpk, hsk = keys.transfer(tr.pending_id)
        new_status = "posted_pending" if tr.phase == L.Phase.POST_PENDING else "voided"
        cond: Condition = (
            (TransferItem.status == "pending")
            & (TransferItem.amount == tr.pending_amount)
            & (TransferItem.debit == tr.debit)
            & (TransferItem.credit == tr.credit)
        )
        t.update(
            TransferItem(PK=hpk, SK=hsk),
            [TransferItem.status.set(new_status), TransferItem.meta.set({"completed_by": tr.id})],
            label=f"hold:{tr.pending_id}",
            condition=cond,
        )


def _add_balance_update(
    t: tx.Tx, account: str, delta: L.Delta, before: L.Balance | None, aux: dict[str, int] | None
) -> None:
    pol = L.policy(account)
    pk, sk = keys.account(account)
    actions: list[Any] = [AccountItem.account.set(account), AccountItem.kind.set(AccountItem)]
    for name in ("debits_posted", "credits_posted", "debits_pending", "credits_pending"):
        value = getattr(delta, name)
        if value:
            actions.append(getattr(AccountItem, name).add(value))
    if delta.available:
        actions.append(AccountItem.available.add(delta.available))
    for name, value in (aux or {}).items():
        actions.append(getattr(AccountItem, name).add(value))
    condition: Condition | None = None
    if pol.must_not_go_negative and delta.available < 0:
        condition = AccountItem.available >= -delta.available
    if pol.versioned:
        assert before is not None
        actions.append(AccountItem.version.set(before.version + 1))
        vcond = AccountItem.version.does_not_exist() if before.version == 0 else AccountItem.version == before.version
        condition = vcond if condition is None else (condition & vcond)
    t.update(AccountItem(PK=pk, SK=sk), actions, label=f"bal:{account}", condition=condition)


def query_entries(account: str, **kwargs: Any) -> Any:
    """Statement lines, newest first (pass limit / page_size / last_evaluated_key through)."""
    pk, prefix = keys.entry_prefix(account)
    return EntryItem.query(pk, EntryItem.SK.startswith(prefix), scan_index_forward=False, **kwargs)


def entries(account: str, *, limit: int, start: dict[str, Any] | None) -> tuple[list[EntryItem], dict[str, Any] | None]:
    """Statement lines, newest first, one page (store-level; the API pages through `query_entries`)."""
    result = query_entries(account, limit=limit, last_evaluated_key=start)
    items = list(result)
    return items, result.last_evaluated_key


def entries_between(account: str, start_iso: str, end_iso: str, max_items: int = 20_000) -> list[EntryItem]:
    """Statement lines in [start, end) for exports, oldest first, bounded."""
    pk, lo = keys.entry_bound(account, start_iso)
    _, hi = keys.entry_bound(account, end_iso)
    out: list[EntryItem] = []
    for item in EntryItem.query(pk, EntryItem.SK.between(lo, hi), scan_index_forward=True):
        if item.created_at >= end_iso:
            break
        out.append(item)
        if len(out) >= max_items:
            break
    return out
