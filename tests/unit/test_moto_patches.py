"""The local server's faster transaction rollback keeps moto's semantics: all or nothing, stream included."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from devstack import moto_patches

TABLE = "t"


@pytest.fixture
def ddb():
    moto_patches.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        yield client


def _stream_len() -> int:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return len(dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(TABLE).stream_shard.items)


def key(pk: str) -> dict:
    return {"PK": {"S": pk}, "SK": {"S": "x"}}


def test_cancelled_transaction_leaves_items_and_stream_as_they_were(ddb):
    ddb.put_item(TableName=TABLE, Item={**key("a"), "n": {"N": "1"}})
    before = _stream_len()
    with pytest.raises(ddb.exceptions.TransactionCanceledException) as err:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {**key("new"), "n": {"N": "9"}}}},
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": key("a"),
                        "UpdateExpression": "SET n = :v",
                        "ExpressionAttributeValues": {":v": {"N": "2"}},
                    }
                },
                {"Delete": {"TableName": TABLE, "Key": key("gone"), "ConditionExpression": "attribute_exists(PK)"}},
            ]
        )
    reasons = [r["Code"] for r in err.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    assert "Item" not in ddb.get_item(TableName=TABLE, Key=key("new"))
    assert ddb.get_item(TableName=TABLE, Key=key("a"))["Item"]["n"] == {"N": "1"}
    assert _stream_len() == before


def test_successful_transaction_applies_everything(ddb):
    ddb.put_item(TableName=TABLE, Item={**key("a"), "n": {"N": "1"}})
    ddb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": TABLE,
                    "Item": {**key("b"), "n": {"N": "5"}},
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": key("a"),
                    "UpdateExpression": "ADD n :v",
                    "ExpressionAttributeValues": {":v": {"N": "2"}},
                }
            },
        ]
    )
    assert ddb.get_item(TableName=TABLE, Key=key("a"))["Item"]["n"] == {"N": "3"}
    assert ddb.get_item(TableName=TABLE, Key=key("b"))["Item"]["n"] == {"N": "5"}
