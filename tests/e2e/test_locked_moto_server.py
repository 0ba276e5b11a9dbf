"""The local moto server makes each DynamoDB request atomic, as DynamoDB does; moto alone does not."""

from __future__ import annotations

import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from devstack.moto_server import LockedMotoServer

THREADS = 50
SLOTS = 10


@pytest.fixture(scope="module")
def server() -> Iterator[LockedMotoServer]:
    # In this process: the test needs the lock object. moto's backends are global, so a unique table name
    # keeps this clear of anything else the worker runs.
    with LockedMotoServer() as srv:
        yield srv


def _client(server: LockedMotoServer, service: str) -> Any:
    cfg = Config(max_pool_connections=THREADS + 10, retries={"max_attempts": 1})
    return boto3.session.Session().client(
        service,
        region_name="cn-north-1",
        endpoint_url=server.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=cfg,
    )


@pytest.fixture(scope="module")
def table(server: LockedMotoServer) -> str:
    name = f"locked-{uuid.uuid4().hex[:8]}"
    _client(server, "dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
    )
    return name


def test_concurrent_conditional_decrements_never_oversell(server, table):
    ddb = _client(server, "dynamodb")
    # botocore builds a client's exception classes on first use, unlocked: racing threads could each build a set,
    # and one thread's raise would then not match the class another's `except` names. Build them before the race.
    refused = ddb.exceptions.ConditionalCheckFailedException
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: without the lock this oversells
    try:
        for trial in range(5):
            pk = f"task-{trial}"
            ddb.put_item(TableName=table, Item={"PK": {"S": pk}, "slots_left": {"N": str(SLOTS)}, "sold": {"N": "0"}})
            won: list[int] = []
            barrier = threading.Barrier(THREADS)

            def claim(pk: str = pk, won: list[int] = won, barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                try:
                    ddb.update_item(
                        TableName=table,
                        Key={"PK": {"S": pk}},
                        UpdateExpression="SET slots_left = slots_left - :one ADD sold :one",
                        ConditionExpression="slots_left > :zero",
                        ExpressionAttributeValues={":one": {"N": "1"}, ":zero": {"N": "0"}},
                    )
                    won.append(1)
                except refused:
                    pass

            threads = [threading.Thread(target=claim) for _ in range(THREADS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            item = ddb.get_item(TableName=table, Key={"PK": {"S": pk}}, ConsistentRead=True)["Item"]
            assert (len(won), item["slots_left"]["N"], item["sold"]["N"]) == (SLOTS, "0", str(SLOTS))
    finally:
        sys.setswitchinterval(previous)


def test_dynamodb_requests_wait_for_the_lock_and_other_services_do_not(server, table):
    ddb, sqs = _client(server, "dynamodb"), _client(server, "sqs")
    done: list[str] = []
    with server.lock:
        t = threading.Thread(target=lambda: done.append(str(ddb.describe_table(TableName=table)["Table"]["TableName"])))
        t.start()
        sqs.list_queues()  # not DynamoDB: answered while the lock is held
        time.sleep(0.3)
        assert done == []
    t.join(timeout=5)
    assert done == [table]
