"""Credit score from claim outcomes, through the stream: +1 per acceptance, −5 per final rejection, once each."""

from __future__ import annotations

from chalicelib.services import claims as svc
from chalicelib.store import claims as store
from tests.api.claims.conftest import fresh
from tests.api.claims.test_claim_lifecycle import claim, prove
from tests.conftest import feed_stream


def credit(api, account):
    return api.get("/v1/me/credit", token=fresh(account)).json


def test_acceptance_adds_one_and_a_final_rejection_takes_five(api, accounts, publish, clock):
    m = accounts.make("merchant")
    good, bad = accounts.make("worker"), accounts.make("worker")
    task_id = publish(m.id, slots=2)
    c1 = claim(api, good, task_id).json["id"]
    c2 = claim(api, bad, task_id).json["id"]
    prove(api, good, c1)
    prove(api, bad, c2)
    api.post(f"/v1/claims/{c1}/accept", {}, token=m.token)
    api.post(f"/v1/claims/{c2}/reject", {"reason": "截图造假"}, token=m.token)
    assert feed_stream()["batchItemFailures"] == []
    assert credit(api, good)["score"] == 101
    assert credit(api, bad)["score"] == 100  # not yet: the appeal window is open
    clock.advance(72 * 3600 + 1)
    assert svc.close_appeal_window(store.get(c2))
    assert feed_stream()["batchItemFailures"] == []
    assert feed_stream()["batchItemFailures"] == []  # the same records again change nothing
    mine = credit(api, bad)
    assert mine["score"] == 95
    assert [(i["delta"], i["score_after"], i["ref"]) for i in mine["items"]] == [(-5, 95, c2)]
    assert credit(api, good)["score"] == 101
