"""Dispute rules without I/O: who opens what, when a message answers, which statuses resolve, outcome plans."""

from __future__ import annotations

import pytest

from chalicelib.domain import disputes as D
from chalicelib.domain.errors import Conflict, Invalid


@pytest.mark.parametrize(
    ("kind", "role", "allowed"),
    [
        (D.Kind.APPEAL_REJECTION, "worker", True),
        (D.Kind.APPEAL_REJECTION, "merchant", False),
        (D.Kind.FAKE_TASK, "worker", True),
        (D.Kind.FAKE_TASK, "merchant", False),
        (D.Kind.WORKER_CHEATING, "merchant", True),
        (D.Kind.WORKER_CHEATING, "worker", False),
        (D.Kind.OTHER, "worker", True),
        (D.Kind.OTHER, "merchant", True),
    ],
)
def test_opener_roles(kind, role, allowed):
    if allowed:
        D.check_opener(kind, role)
    else:
        with pytest.raises(Invalid) as err:
            D.check_opener(kind, role)
        assert err.value.code == "DISPUTE_KIND_NOT_ALLOWED"


def test_only_the_respondents_first_message_in_time_answers():
    due = "2026-11-27T08:00:00.000000Z"
    assert D.answers("open", "merchant", "merchant", "2026-11-27T07:59:59.000000Z", due)
    assert not D.answers("open", "merchant", "merchant", due, due)  # at the deadline is too late
    assert not D.answers("open", "worker", "merchant", "2026-11-26T00:00:00.000000Z", due)
    assert not D.answers("answered", "merchant", "merchant", "2026-11-26T00:00:00.000000Z", due)


def test_a_resolved_case_takes_no_messages_and_no_second_resolution():
    with pytest.raises(Conflict) as err:
        D.check_message("resolved")
    assert err.value.code == "DISPUTE_CLOSED"
    with pytest.raises(Conflict) as err:
        D.resolve_from("resolved")
    assert err.value.code == "DISPUTE_STATE_CONFLICT"
    assert D.resolve_from("open") == D.resolve_from("answered") == D.Status.RESOLVED


def test_outcome_plans():
    appeal = D.Kind.APPEAL_REJECTION
    win = D.plan(appeal, D.Outcome.WORKER_WINS, reward_fen=1_000, penalty_fen=200, split_worker_fen=None)
    assert (win.pays_claim, win.upholds_rejection, win.penalty_fen, win.split_worker_fen) == (True, False, 200, None)
    lose = D.plan(appeal, D.Outcome.MERCHANT_WINS, reward_fen=1_000, penalty_fen=None, split_worker_fen=None)
    assert (lose.pays_claim, lose.upholds_rejection) == (False, True)
    split = D.plan(appeal, D.Outcome.SPLIT, reward_fen=1_000, penalty_fen=None, split_worker_fen=999)
    assert split.split_worker_fen == 999 and not split.pays_claim
    fake = D.plan(D.Kind.FAKE_TASK, D.Outcome.WORKER_WINS, reward_fen=1_000, penalty_fen=100, split_worker_fen=None)
    assert (fake.pays_claim, fake.penalty_fen) == (False, 100)  # no claim money outside appeals


@pytest.mark.parametrize(
    ("kind", "outcome", "penalty", "split"),
    [
        (D.Kind.APPEAL_REJECTION, D.Outcome.SPLIT, None, 0),
        (D.Kind.APPEAL_REJECTION, D.Outcome.SPLIT, None, 1_000),
        (D.Kind.APPEAL_REJECTION, D.Outcome.SPLIT, None, None),
        (D.Kind.FAKE_TASK, D.Outcome.SPLIT, None, 500),
        (D.Kind.APPEAL_REJECTION, D.Outcome.WORKER_WINS, None, 500),
        (D.Kind.APPEAL_REJECTION, D.Outcome.MERCHANT_WINS, 100, None),
        (D.Kind.APPEAL_REJECTION, D.Outcome.SPLIT, 100, 500),
        (D.Kind.APPEAL_REJECTION, D.Outcome.WORKER_WINS, -1, None),
    ],
)
def test_invalid_outcome_plans(kind, outcome, penalty, split):
    with pytest.raises(Invalid) as err:
        D.plan(kind, outcome, reward_fen=1_000, penalty_fen=penalty, split_worker_fen=split)
    assert err.value.code == "DISPUTE_OUTCOME_INVALID"


def test_only_upheld_cheating_counts_as_a_violation_by_itself():
    assert D.counts_as_violation(D.Kind.WORKER_CHEATING, D.Outcome.MERCHANT_WINS)
    assert not D.counts_as_violation(D.Kind.WORKER_CHEATING, D.Outcome.WORKER_WINS)
    assert not D.counts_as_violation(D.Kind.APPEAL_REJECTION, D.Outcome.MERCHANT_WINS)  # follows the claim
