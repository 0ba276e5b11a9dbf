"""Growth feature tests: coupons, bonuses, referrals, premium pool, contest, membership, promoted tasks."""

# ---- H7: contest, membership, promoted tasks, fees

import pytest as _h7_pytest


class H7Stream:
    """The table stream delivered to the app's consumers, each record once in order (`drain()`), or again from
    an earlier index (`replay(since)`) as a redelivering Lambda would."""

    def __init__(self) -> None:
        from tests.conftest import stream_records

        self.seen = len(stream_records())

    def drain(self) -> int:
        from tests.conftest import feed_stream, stream_records

        start = self.seen
        self.seen = len(stream_records())
        out = feed_stream(start)
        assert out == {"batchItemFailures": []}, out
        return start

    def replay(self, since: int) -> None:
        from tests.conftest import feed_stream

        out = feed_stream(since)
        assert out == {"batchItemFailures": []}, out


class H7OwnStream:
    """The table stream delivered to the contest and membership consumers only (`drain()`), or a batch again
    (`replay(records)`) as a redelivering Lambda would.

    Only these consumers run: every other feature's consumer would run its own transactions per record, and moto
    deep-copies the whole table, stream included, on each one. Records handed over are cut from moto's shard for
    the same reason (each transaction's copy stays small)."""

    def __init__(self) -> None:
        self._shard().items.clear()  # what setting the stack and the accounts up wrote

    @staticmethod
    def _shard():
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        from chalicelib.config import settings

        return dynamodb_backends[DEFAULT_ACCOUNT_ID][settings().region].get_table(settings().table_name).stream_shard

    def drain(self) -> list:
        from tests.conftest import stream_records

        records = stream_records()
        self._shard().items.clear()
        self.replay(records)
        return records

    def replay(self, records: list) -> None:
        from chalicelib.services import contest, events, membership

        consumers = {
            "claim": [contest.on_claim_accepted],
            "contest_result": [contest.notify_winners],
            "membership": [membership.notify_expired],
        }
        for record in records:
            change = events.decode(record)
            for consumer in consumers.get(change.kind or "", []):
                consumer(change)


@_h7_pytest.fixture
def h7_stream(api):
    return H7Stream()


@_h7_pytest.fixture
def h7_own_stream(api):
    return H7OwnStream()


@_h7_pytest.fixture
def h7_no_stream(api):
    """For tests that read no stream: moto stops recording it, so its per-transaction table copy stays small."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib.config import settings

    t = dynamodb_backends[DEFAULT_ACCOUNT_ID][settings().region].get_table(settings().table_name)
    t.stream_shard = None
    t.stream_specification = {"StreamEnabled": False}


def h7_accept(api, merchant, worker, task_id: str | None = None, **task_fields) -> str:
    """Claim, prove and accept one task through the API (a fresh one-slot task of `merchant` unless given: a
    worker claims a task once); the claim id."""
    from tests.api.claims.conftest import fresh, publish_task

    if task_id is None:
        task_id = publish_task(merchant.id, slots=1, reward=1_000, **task_fields)
    wt, mt = fresh(worker), fresh(merchant)
    c = api.post(f"/v1/tasks/{task_id}/claims", token=wt, headers={"X-Device-Id": f"dev-{worker.id}"})
    assert c.status == 201, c.body
    cid = c.json["id"]
    p = api.post(f"/v1/claims/{cid}/proof", {"text": "万达店"}, token=wt)
    assert p.status == 200, p.body
    ok = api.post(f"/v1/claims/{cid}/accept", {}, token=mt)
    assert ok.status == 200, ok.body
    return str(cid)


# ---- H6: coupon, first-task bonus, referrals, premium pool


class H6People:
    """Accounts registered through the API (so the stream carries their INSERT, and `X-Device-Id` becomes a
    sighting), tasks published at the store level, and first tasks walked to `accepted`."""

    def __init__(self, api) -> None:
        from tests.api.identity.factory import AccountFactory

        self.api = api
        self.accounts = AccountFactory(api)
        self.ips: list[str] = []

    def register(
        self, role: str = "worker", *, device: str | None = None, invite_code: str | None = None, ip: str | None = None
    ):
        from tests.api.identity.factory import PASSWORD, Account, new_phone

        phone = new_phone()
        sent = self.api.post("/v1/auth/otp", {"phone": phone, "purpose": "register"})
        assert sent.status == 200, sent.body
        body = {"phone": phone, "password": PASSWORD, "otp": sent.json["dev_code"], "role": role}
        if invite_code:
            body["invite_code"] = invite_code
        # Each registration from its own address unless told (the in-process client's is always 127.0.0.1, and
        # the risk engine links accounts seen on one address within a day).
        from unittest import mock

        from chalicelib.handlers import web

        ip = ip or f"10.6.{len(self.ips) // 250}.{len(self.ips) % 250 + 1}"
        self.ips.append(ip)
        with mock.patch.object(web, "_source_ip", lambda _request: ip):
            reply = self.api.post("/v1/auth/register", body, headers={"X-Device-Id": device} if device else None)
        assert reply.status == 201, reply.body
        data = reply.json
        return Account(data["user"]["id"], role, phone, PASSWORD, data["access_token"], data["refresh_token"])

    def task(self, reward: int = 1_000, slots: int = 3) -> tuple:
        """A merchant (made outside the API) and one of their published, funded tasks."""
        from tests.api.claims.conftest import publish_task

        merchant = self.accounts.make("merchant")
        return merchant, publish_task(merchant.id, slots=slots, reward=reward)

    def accept(self, worker, reward: int = 1_000, task=None) -> str:
        merchant, task_id = task or self.task(reward)
        return h7_accept(self.api, merchant, worker, task_id)

    def wallet(self, user) -> dict:
        from tests.api.claims.conftest import fresh

        reply = self.api.get("/v1/wallet", token=fresh(user))
        assert reply.status == 200, reply.body
        return dict(reply.json)

    def entries(self, user) -> list[dict]:
        from tests.api.claims.conftest import fresh

        reply = self.api.get("/v1/wallet/entries", token=fresh(user))
        assert reply.status == 200, reply.body
        return list(reply.json["items"])


@_h7_pytest.fixture
def people(api):
    return H6People(api)


def promo_spent() -> int:
    """What `expense:promo` has paid out so far (its debits)."""
    from chalicelib.domain import ledger as L
    from chalicelib.store import ledger as books

    return -books.get_balances([L.EXPENSE_PROMO])[L.EXPENSE_PROMO].posted
