"""Weekly contest through the API and the stream: scores, ties, masked leaderboard, the caller's rank, the close
that pays the top 3 once (twice-fired schedule, racing closes), winners' notifications."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters import clock as clock_adapter
from chalicelib.domain import contest as C
from chalicelib.domain import ledger as L
from chalicelib.services import contest, schedules
from chalicelib.store import contest as contest_store
from chalicelib.store import ledger as books
from tests.api.claims.conftest import fresh, publish_task
from tests.api.growth.conftest import h7_accept
from tests.api.money.conftest import accounts, verified  # noqa: F401
from tests.api.tasks.conftest import ddb_calls  # noqa: F401

WEEK = "2026-11-23"  # T0 (Wed 2026-11-25 16:00 Shanghai) is in the week starting Monday 2026-11-23
NEXT_MONDAY = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)  # Monday 2026-11-30 00:00 Asia/Shanghai


def worker_masked(user_id: str) -> str:
    from chalicelib.store import users

    return str(users.get_user(user_id).real_name_masked)


def available(*account_ids: str) -> list[int]:
    got = books.get_balances(list(account_ids))
    return [got[a].available for a in account_ids]


@pytest.fixture
def board(api, users, h7_own_stream):
    """A merchant with a 10-slot task, and workers w1..w4 who finish tasks at controlled times:
    w[2]: 2 · w[0]: 1 (first) · w[1]: 1 (third) · w[3]: 1 (last) — order w[2], w[0], w[1], w[3]."""
    m = users.make("merchant")
    ends = books.iso(NEXT_MONDAY + timedelta(days=7))
    w = [users.make("worker") for _ in range(4)]
    plan = [w[0], w[2], w[1], w[2], w[3]]
    for worker in plan:
        clock_adapter.advance(60)
        h7_accept(api, m, worker, ends_at=ends)
    delivered = h7_own_stream.drain()
    return m, w, ends, delivered


def test_leaderboard_orders_by_count_then_who_reached_it_first(api, board):
    _, w, _, _ = board
    reply = api.get("/v1/contests/current", token=fresh(w[1]))
    assert reply.status == 200, reply.body
    body = reply.json
    assert body["week_id"] == WEEK
    assert body["starts_at"] == "2026-11-22T16:00:00.000000Z" and body["ends_at"] == "2026-11-29T16:00:00.000000Z"
    assert [(e["rank"], e["count"]) for e in body["top"]] == [(1, 2), (2, 1), (3, 1), (4, 1)]
    assert [e["prize_fen"] for e in body["top"]] == [5_000, 3_000, 2_000, 0]
    assert body["top"][1]["reached_at"] < body["top"][2]["reached_at"]  # w[0] reached 1 before w[1]
    assert (body["my_rank"], body["my_count"]) == (3, 1)
    assert body["prizes_fen"] == [5_000, 3_000, 2_000] and body["closed"] is False


def test_leaderboard_names_are_masked(api, board):
    _, w, _, _ = board
    body = api.get("/v1/contests/current", token=fresh(w[0])).json
    for entry in body["top"]:
        assert re.fullmatch(r"1\d\d\*\*\*\*\d{4}", entry["name"]), entry["name"]
    assert all(person.phone not in str(body) for person in w)


def test_verified_worker_shows_masked_real_name(api, users, verified, h7_own_stream):  # noqa: F811
    m = users.make("merchant")
    worker = verified("worker", name="张三丰")
    h7_accept(api, m, worker)
    h7_own_stream.drain()
    top = api.get("/v1/contests/current", token=fresh(worker)).json["top"]
    assert top[0]["name"] == worker_masked(worker.id) and "*" in top[0]["name"] and "张三丰" not in top[0]["name"]


def test_caller_outside_the_top_20_gets_rank_from_a_count(api, users, ddb_calls):  # noqa: F811
    worker = users.make("worker")
    for i in range(21):  # 21 others reached one accepted task before the caller (scored as the consumer does)
        at = books.iso(clock_adapter.now() + timedelta(seconds=i))
        assert contest_store.count_accept(WEEK, f"usr_other{i:02d}", f"clm_{i}", at, "138****0000").counted
    late = books.iso(clock_adapter.now() + timedelta(minutes=5))
    contest_store.count_accept(WEEK, worker.id, "clm_mine", late, "138****0000")
    ddb_calls.reset()
    body = api.get("/v1/contests/current", token=worker.token).json
    assert len(body["top"]) == C.TOP_N and worker.id not in str(body["top"])
    assert (body["my_rank"], body["my_count"]) == (22, 1)
    # The top 20 and the COUNT of those ahead: two Queries, never a Scan.
    assert (ddb_calls.count("Query"), ddb_calls.count("Scan")) == (2, 0)
    leader = users.make("worker")
    contest_store.count_accept(WEEK, leader.id, "clm_lead_1", books.iso(clock_adapter.now()), "138****0000")
    contest_store.count_accept(WEEK, leader.id, "clm_lead_2", books.iso(clock_adapter.now()), "138****0000")
    ddb_calls.reset()
    top = api.get("/v1/contests/current", token=leader.token).json
    assert top["my_rank"] == 1 and (ddb_calls.count("Query"), ddb_calls.count("Scan")) == (1, 0)


def test_caller_without_scores_has_no_rank(api, users, board):
    nobody = users.make("worker")
    body = api.get("/v1/contests/current", token=nobody.token).json
    assert (body["my_rank"], body["my_count"]) == (None, 0)


def test_redelivered_stream_records_count_each_claim_once(api, board, h7_own_stream):
    _, w, _, delivered = board
    h7_own_stream.replay(delivered)  # the whole batch again, twice
    h7_own_stream.replay(delivered)
    body = api.get("/v1/contests/current", token=fresh(w[0])).json
    assert [e["count"] for e in body["top"]] == [2, 1, 1, 1]


def test_accepts_count_in_the_shanghai_week_they_happen(api, users, h7_own_stream):
    m = users.make("merchant")
    ends = books.iso(NEXT_MONDAY + timedelta(days=3))
    first, second = publish_task(m.id, slots=1, ends_at=ends), publish_task(m.id, slots=1, ends_at=ends)
    worker = users.make("worker")
    clock_adapter.pin(NEXT_MONDAY - timedelta(seconds=30))  # Sunday 23:59:30 Shanghai
    h7_accept(api, m, worker, first)
    clock_adapter.pin(NEXT_MONDAY + timedelta(seconds=1))  # Monday 00:00:01
    h7_accept(api, m, worker, second)
    h7_own_stream.drain()
    assert int(contest_store.get_score(WEEK, worker.id).accepted) == 1
    assert int(contest_store.get_score("2026-11-30", worker.id).accepted) == 1
    body = api.get("/v1/contests/current", token=fresh(worker)).json
    assert body["week_id"] == "2026-11-30" and body["my_count"] == 1


def test_close_pays_top_three_once_even_if_the_schedule_fires_twice(api, board, h7_own_stream):
    _, w, _, _ = board
    before = available(L.wallet(w[2].id), L.wallet(w[0].id), L.wallet(w[1].id), L.wallet(w[3].id))
    clock_adapter.pin(NEXT_MONDAY + timedelta(seconds=5))
    assert schedules.run("contest_close") is True
    assert schedules.run("contest_close") is False  # the boundary was claimed
    assert contest.close(WEEK) is False  # an EventBridge re-fire that bypassed the claim: the result exists
    schedules.job("contest_close").function()(NEXT_MONDAY)  # the job body itself, re-run with the boundary
    after = available(L.wallet(w[2].id), L.wallet(w[0].id), L.wallet(w[1].id), L.wallet(w[3].id))
    assert [a - b for a, b in zip(after, before, strict=True)] == [5_000, 3_000, 2_000, 0]
    promo = books.get_balances([L.EXPENSE_PROMO])[L.EXPENSE_PROMO]
    assert promo.posted == -10_000
    result = contest_store.get_result(WEEK)
    assert [x["worker_id"] for x in result.winners] == [w[2].id, w[0].id, w[1].id]


def test_racing_closes_pay_once(api, board, monkeypatch):
    """A second process read "not closed yet" just before the first committed: its batch replays the same
    transfers and changes nothing (a deterministic interleaving: in-process moto is not thread-safe)."""
    _, w, _, _ = board
    clock_adapter.pin(NEXT_MONDAY + timedelta(seconds=5))
    real = contest_store.get_result
    raced = {"left": 1}

    def racing_get_result(week_id: str):
        if raced["left"]:
            raced["left"] -= 1
            assert contest.close(WEEK) is True  # the other process wins meanwhile
            return None
        return real(week_id)

    monkeypatch.setattr(contest.store, "get_result", racing_get_result)
    assert contest.close(WEEK) is False
    assert available(L.wallet(w[2].id), L.wallet(w[0].id), L.wallet(w[1].id)) == [
        2 * 1_000 + 5_000,
        1_000 + 3_000,
        1_000 + 2_000,
    ]
    assert books.get_balances([L.EXPENSE_PROMO])[L.EXPENSE_PROMO].posted == -10_000


def test_a_racing_close_that_saw_another_board_stands_down(api, board, monkeypatch):
    """The loser read a board where the ranks differ: its transfer ids collide with different contents
    (TRANSFER_ID_REUSED), it finds the result and pays nothing."""
    board_ = board
    clock_adapter.pin(NEXT_MONDAY + timedelta(seconds=5))
    assert contest.close(WEEK) is True
    real_top, real_result = contest_store.top, contest_store.get_result
    first = iter([None])
    monkeypatch.setattr(contest.store, "get_result", lambda week_id: next(first, real_result(week_id)))
    monkeypatch.setattr(contest.store, "top", lambda week_id, n: list(reversed(real_top(week_id, n))))
    assert contest.close(WEEK) is False
    assert books.get_balances([L.EXPENSE_PROMO])[L.EXPENSE_PROMO].posted == -10_000
    assert [x["worker_id"] for x in real_result(WEEK).winners] == [board_[1][2].id, board_[1][0].id, board_[1][1].id]


def test_winners_are_notified_once_and_the_board_shows_closed(api, board, h7_own_stream):
    _, w, _, _ = board
    clock_adapter.pin(NEXT_MONDAY + timedelta(seconds=5))
    contest.close(WEEK)
    delivered = h7_own_stream.drain()
    h7_own_stream.replay(delivered)  # redelivered
    got = api.get("/v1/notifications", token=fresh(w[2])).json["items"]
    prizes = [n for n in got if n["type"] == "contest.prize"]
    assert len(prizes) == 1 and "第 1 名" in prizes[0]["body"] and "50.00 元" in prizes[0]["body"]
    loser = api.get("/v1/notifications", token=fresh(w[3])).json["items"]
    assert not [n for n in loser if n["type"] == "contest.prize"]


def test_an_accept_arriving_after_the_close_does_not_change_the_paid_board(api, users, board, h7_own_stream):
    m, w, ends, _ = board
    clock_adapter.pin(NEXT_MONDAY - timedelta(seconds=1))
    h7_accept(api, m, w[3], ends_at=ends)  # accepted in the old week, its stream record delivered after the close
    clock_adapter.pin(NEXT_MONDAY + timedelta(seconds=5))
    contest.close(WEEK)
    h7_own_stream.drain()
    assert int(contest_store.get_score(WEEK, w[3].id).accepted) == 1  # not 2: the week had closed


def test_a_week_without_scores_closes_without_paying(api, users):
    clock_adapter.pin(NEXT_MONDAY + timedelta(seconds=5))
    assert contest.close(WEEK) is True
    assert contest_store.get_result(WEEK).winners == []
    assert books.get_balances([L.EXPENSE_PROMO])[L.EXPENSE_PROMO].posted == 0


def test_prizes_are_configurable_per_stage(api, board, monkeypatch):
    monkeypatch.setenv("CONTEST_PRIZES_FEN", "800,100")
    clock_adapter.pin(NEXT_MONDAY + timedelta(seconds=5))
    contest.close(WEEK)
    assert [x["prize_fen"] for x in contest_store.get_result(WEEK).winners] == [800, 100]
    assert books.get_balances([L.EXPENSE_PROMO])[L.EXPENSE_PROMO].posted == -900


def test_leaderboard_needs_a_signed_in_caller(api):
    assert api.get("/v1/contests/current").status == 401
