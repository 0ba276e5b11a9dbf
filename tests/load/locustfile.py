"""Locust users for `make load`: workers browse the hall, open tasks, claim, submit proof and check their
wallets; merchants review the submitted claims of their own tasks. Plain HTTP only (this file runs in the
load venv, under gevent, and imports nothing of ours): accounts and tasks come from the fixtures file that
tests/load/run.py seeds (LOAD_FIXTURES).

Expected refusals are not errors: a claim answered 409 (slots gone, already claimed, open-claim cap) or 403
(not eligible), and a review that lost to another review (409). Every other non-2xx counts as a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading

from locust import HttpUser, between, task

with open(os.environ["LOAD_FIXTURES"], encoding="utf-8") as fh:
    FIXTURES = json.load(fh)

_lock = threading.Lock()
_workers = itertools.cycle(FIXTURES["workers"])
_merchants = itertools.cycle(FIXTURES["merchants"])
CATEGORIES = ["survey", "app_trial", "promotion", "content", "data_labeling", "feedback", "mystery_shopping", "other"]
RANGES = [(None, None), (100, 500), (200, None), (None, 100), (50, 2000)]
SORTS = ["newest", "reward", "ending"]
NEAR = "31.2304,121.4737"


def _next(pool: itertools.cycle) -> dict:
    with _lock:
        return next(pool)


def _hall_query() -> str:
    params = [f"sort={random.choice(SORTS)}"]
    if random.random() < 0.6:
        params.append(f"category={random.choice(CATEGORIES)}")
    lo, hi = random.choice(RANGES)
    if lo is not None:
        params.append(f"min_reward_fen={lo}")
    if hi is not None:
        params.append(f"max_reward_fen={hi}")
    if random.random() < 0.1:
        params.append(f"near={NEAR}&radius_km=10")
    return "/v1/hall?" + "&".join(params)


class Worker(HttpUser):
    weight = 9
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        me = _next(_workers)
        self.client.headers.update({"Authorization": f"Bearer {me['token']}", "X-Device-Id": me["device"]})
        self.open_claims: list[str] = []
        self.seen_tasks: list[str] = []

    @task(10)
    def browse_hall(self) -> None:
        path = _hall_query()
        with self.client.get(path, name="GET /v1/hall", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"{resp.status_code}")
                return
            body = resp.json()
            self.seen_tasks = [item["id"] for item in body["items"]] or self.seen_tasks
            cursor = body.get("next_cursor")
        if cursor and random.random() < 0.3:
            self.client.get(f"{path}&cursor={cursor}", name="GET /v1/hall (page 2)")

    @task(4)
    def open_task(self) -> None:
        if self.seen_tasks:
            self.client.get(f"/v1/hall/{random.choice(self.seen_tasks)}", name="GET /v1/hall/{task_id}")

    @task(3)
    def claim(self) -> None:
        if not self.seen_tasks:
            return
        task_id = random.choice(self.seen_tasks)
        with self.client.post(
            f"/v1/tasks/{task_id}/claims", name="POST /v1/tasks/{task_id}/claims", catch_response=True
        ) as resp:
            if resp.status_code == 201:
                self.open_claims.append(resp.json()["id"])
            elif resp.status_code in (403, 409):
                resp.success()  # not eligible, slots gone, already claimed, open-claim cap: answers, not errors
            else:
                resp.failure(f"{resp.status_code}")

    @task(3)
    def submit_proof(self) -> None:
        if not self.open_claims:
            return
        claim_id = self.open_claims.pop(0)
        body = {"text": "已完成，门店：万达广场店", "location": {"lat": 31.2304, "lng": 121.4737}}
        with self.client.post(
            f"/v1/claims/{claim_id}/proof", json=body, name="POST /v1/claims/{claim_id}/proof", catch_response=True
        ) as resp:
            if resp.status_code == 422:
                resp.success()  # the task asks for something this generic proof lacks (images, order number)
            elif resp.status_code != 200:
                resp.failure(f"{resp.status_code}")

    @task(3)
    def wallet(self) -> None:
        self.client.get("/v1/wallet", name="GET /v1/wallet")

    @task(1)
    def entries(self) -> None:
        self.client.get("/v1/wallet/entries", name="GET /v1/wallet/entries")

    @task(1)
    def my_claims(self) -> None:
        self.client.get("/v1/me/claims", name="GET /v1/me/claims")


class Merchant(HttpUser):
    weight = 1
    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        me = _next(_merchants)
        self.tasks_owned: list[str] = me["tasks"]
        self.client.headers.update({"Authorization": f"Bearer {me['token']}"})

    @task
    def review(self) -> None:
        task_id = random.choice(self.tasks_owned)
        resp = self.client.get(
            f"/v1/tasks/{task_id}/claims?status=submitted", name="GET /v1/tasks/{task_id}/claims?status=submitted"
        )
        if resp.status_code != 200:
            return
        for item in resp.json()["items"][:5]:
            verb, body = ("accept", {"rating": 5}) if random.random() < 0.85 else ("reject", {"reason": "截图不清晰"})
            url, name = f"/v1/claims/{item['id']}/{verb}", f"POST /v1/claims/{{id}}/{verb}"
            with self.client.post(url, json=body, name=name, catch_response=True) as done:
                if done.status_code == 409:
                    done.success()  # already settled by an earlier pass
                elif done.status_code != 200:
                    done.failure(f"{done.status_code}")
