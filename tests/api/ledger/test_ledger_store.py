"""The ledger store against moto: atomic batches, flags, replays, two-phase holds, entries."""

from __future__ import annotations

import pytest

from chalicelib.domain import ledger as L
from chalicelib.domain.errors import Conflict
from chalicelib.store import ledger as store


@pytest.fixture
def books(aws, clock):
    return store


def deposit(user: str, amount: int, ref: str) -> L.Transfer:
    return L.Transfer(
        id=f"deposit:{ref}", debit=L.clearing("sandbox"), credit=L.wallet(user), amount=amount, code=L.Code.DEPOSIT
    )


def test_deposit_credits_wallet_and_writes_entry_with_balance_after(books):
    books.post([deposit("usr_a", 1000, "t1")])
    books.post([deposit("usr_a", 250, "t2")])
    bal = books.get_balances([L.wallet("usr_a"), L.clearing("sandbox")])
    assert bal[L.wallet("usr_a")].available == 1250
    assert bal[L.clearing("sandbox")].posted == -1250
    items, _ = books.entries(L.wallet("usr_a"), limit=10, start=None)
    assert [(e.amount, e.balance_after) for e in items] == [(250, 1250), (1000, 1000)]


def test_replaying_a_transfer_changes_nothing_and_returns_the_original(books):
    first = books.post([deposit("usr_a", 1000, "t1")])
    again = books.post([deposit("usr_a", 1000, "t1")])
    assert not first.replayed and again.replayed
    assert books.get_balances([L.wallet("usr_a")])[L.wallet("usr_a")].available == 1000
    items, _ = books.entries(L.wallet("usr_a"), limit=10, start=None)
    assert len(items) == 1


def test_reusing_a_transfer_id_for_a_different_movement_is_refused(books):
    books.post([deposit("usr_a", 1000, "t1")])
    with pytest.raises(Conflict) as err:
        books.post([deposit("usr_a", 999, "t1")])
    assert err.value.code == "TRANSFER_ID_REUSED"


def test_debit_beyond_available_is_refused_and_nothing_is_written(books):
    books.post([deposit("usr_a", 100, "t1")])
    spend = L.Transfer(
        id="w:1", debit=L.wallet("usr_a"), credit=L.payout("sandbox"), amount=101, code=L.Code.WITHDRAWAL
    )
    with pytest.raises(Conflict) as err:
        books.post([spend])
    assert err.value.code == "INSUFFICIENT_BALANCE"
    assert books.get_transfer("w:1") is None
    assert books.get_balances([L.wallet("usr_a")])[L.wallet("usr_a")].available == 100


def test_pending_then_post_and_void_each_at_most_once(books):
    books.post([deposit("usr_a", 1000, "t1")])
    hold = L.Transfer(
        id="wd:1",
        debit=L.wallet("usr_a"),
        credit=L.payout("sandbox"),
        amount=300,
        code=L.Code.WITHDRAWAL,
        phase=L.Phase.PENDING,
    )
    books.post([hold])
    bal = books.get_balances([L.wallet("usr_a")])[L.wallet("usr_a")]
    assert (bal.available, bal.debits_pending, bal.posted) == (700, 300, 1000)
    post = L.Transfer(
        id="wd:1:post",
        debit=hold.debit,
        credit=hold.credit,
        amount=300,
        code=L.Code.WITHDRAWAL,
        phase=L.Phase.POST_PENDING,
        pending_id="wd:1",
        pending_amount=300,
    )
    books.post([post])
    bal = books.get_balances([L.wallet("usr_a")])[L.wallet("usr_a")]
    assert (bal.available, bal.debits_pending, bal.posted) == (700, 0, 700)
    void = L.Transfer(
        id="wd:1:void",
        debit=hold.debit,
        credit=hold.credit,
        amount=0,
        code=L.Code.WITHDRAWAL,
        phase=L.Phase.VOID_PENDING,
        pending_id="wd:1",
        pending_amount=300,
    )
    with pytest.raises(Conflict) as err:
        books.post([void])
    assert err.value.code == "TRANSFER_ALREADY_COMPLETED"
    assert books.post([post]).replayed


def test_void_returns_the_hold(books):
    books.post([deposit("usr_a", 1000, "t1")])
    hold = L.Transfer(
        id="wd:2",
        debit=L.wallet("usr_a"),
        credit=L.payout("sandbox"),
        amount=400,
        code=L.Code.WITHDRAWAL,
        phase=L.Phase.PENDING,
    )
    books.post([hold])
    void = L.Transfer(
        id="wd:2:void",
        debit=hold.debit,
        credit=hold.credit,
        amount=0,
        code=L.Code.WITHDRAWAL,
        phase=L.Phase.VOID_PENDING,
        pending_id="wd:2",
        pending_amount=400,
    )
    books.post([void])
    bal = books.get_balances([L.wallet("usr_a"), L.payout("sandbox")])
    assert bal[L.wallet("usr_a")].available == 1000
    assert bal[L.payout("sandbox")].credits_pending == 0
    items, _ = books.entries(L.wallet("usr_a"), limit=10, start=None)
    assert [e.amount for e in items] == [400, -400, 1000]
    assert [e.balance_after for e in items] == [1000, 600, 1000]


def test_linked_reward_and_fee_share_one_escrow_update(books):
    fund = L.Transfer(
        id="fund:t", debit=L.wallet("usr_m"), credit=L.escrow("tsk_1"), amount=1050, code=L.Code.ESCROW_FUND
    )
    books.post([deposit("usr_m", 2000, "m1")])
    books.post([fund], aux={L.wallet("usr_m"): {"escrowed": 1050}})
    reward = L.Transfer(
        id="settle:c1", debit=L.escrow("tsk_1"), credit=L.wallet("usr_w"), amount=1000, code=L.Code.REWARD
    )
    fee = L.Transfer(id="fee:c1", debit=L.escrow("tsk_1"), credit=L.fee_revenue("fee:c1"), amount=50, code=L.Code.FEE)
    books.post([reward, fee], aux={L.wallet("usr_m"): {"escrowed": -1050}})
    bal = books.get_balances([L.escrow("tsk_1"), L.wallet("usr_w"), L.wallet("usr_m")])
    assert bal[L.escrow("tsk_1")].available == 0
    assert bal[L.wallet("usr_w")].available == 1000
    assert books.get_account(L.wallet("usr_m")).escrowed == 0
    with pytest.raises(Conflict) as err:
        books.post(
            [
                L.Transfer(
                    id="settle:c2", debit=L.escrow("tsk_1"), credit=L.wallet("usr_w"), amount=1, code=L.Code.REWARD
                )
            ]
        )
    assert err.value.code == "ESCROW_INSUFFICIENT"
