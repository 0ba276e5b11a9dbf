"""Identity under concurrency, against the locked moto server (DynamoDB-atomic requests, as on AWS).

Each guard here is a conditional write; these tests show that racing requests cannot get around it.
"""

from __future__ import annotations

from collections import Counter
from functools import partial

from chalicelib.domain.errors import Conflict, RateLimited
from tests.api.identity.factory import PASSWORD, new_phone
from tests.e2e.races import race

_race = partial(race, join_s=60)


def test_concurrent_rate_limit_hits_never_pass_the_limit(e2e):
    from chalicelib.store import ratelimit

    subject = new_phone()
    results = _race(16, lambda _: ratelimit.hit("e2e-race", subject, 5, 3600))
    assert sum(1 for r in results if isinstance(r, int)) == 5
    assert all(isinstance(r, int | RateLimited) for r in results)
    assert ratelimit.count("e2e-race", subject, 3600) == 5


def test_concurrent_wrong_guesses_get_at_most_five_comparisons(e2e):
    phone = new_phone()
    code = e2e.http.post("/v1/auth/otp", {"phone": phone, "purpose": "register"}).json["dev_code"]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    body = {"phone": phone, "password": PASSWORD, "otp": wrong, "role": "worker"}
    replies = _race(8, lambda _: e2e.http.post("/v1/auth/register", body))
    codes = Counter(r.code for r in replies)
    assert codes["OTP_INVALID"] == 4
    assert codes["OTP_LOCKED"] == 4
    right = e2e.http.post("/v1/auth/register", {**body, "otp": code})
    assert right.code == "OTP_LOCKED"


def test_concurrent_refresh_with_one_token_lets_exactly_one_through(e2e):
    phone = new_phone()
    code = e2e.http.post("/v1/auth/otp", {"phone": phone, "purpose": "register"}).json["dev_code"]
    reg = e2e.http.post("/v1/auth/register", {"phone": phone, "password": PASSWORD, "otp": code, "role": "worker"})
    assert reg.status == 201, reg.body
    token = reg.json["refresh_token"]
    replies = _race(6, lambda _: e2e.http.post("/v1/auth/refresh", {"refresh_token": token}))
    winners = [r for r in replies if r.status == 200]
    assert len(winners) == 1
    assert all(r.status == 401 for r in replies if r.status != 200)
    # The losers presented a rotated-out token: reuse, so the family (and the winner's new token) is revoked.
    again = e2e.http.post("/v1/auth/refresh", {"refresh_token": winners[0].json["refresh_token"]})
    assert again.status == 401


def test_concurrent_accounts_for_one_phone_create_exactly_one(e2e):
    from chalicelib.services import auth

    phone = new_phone()
    results = _race(5, lambda _: auth.create_account(phone, PASSWORD, "worker"))
    created = [r for r in results if not isinstance(r, Exception)]
    assert len(created) == 1
    assert all(isinstance(r, Conflict) and r.code == "PHONE_IN_USE" for r in results if isinstance(r, Exception))


def test_make_admin_creates_staff_in_the_running_local_stack(e2e):
    """The CLI as `make admin` runs it, in its own process, against the stack the API is using."""
    import os
    import subprocess
    import sys

    phone = new_phone()
    env = {**os.environ, "STAGE": "local", "AWS_ENDPOINT_URL": e2e.endpoint_url, "PHONE": phone}
    env.update({"PASSWORD": "Desk2026admin", "ROLE": "reviewer"})
    for key in ("TABLE_NAME", "TABLE_STREAM_ARN", "BUCKET_NAME"):
        env.pop(key, None)  # the CLI finds the stage's resources by their conventional names
    done = subprocess.run(
        [sys.executable, "-m", "devstack.admin"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    signed = e2e.http.post("/v1/auth/login", {"phone": phone, "password": "Desk2026admin"})
    assert signed.status == 200
    assert signed.json["user"]["role"] == "reviewer"
    assert e2e.http.get("/v1/admin/merchants", token=signed.json["access_token"]).status == 200
