"""How the local pump reads a handler's ReportBatchItemFailures answer and shapes stream images, as Lambda does."""

from __future__ import annotations

import pytest

from devstack.pump import _image, _outcome

IDS = ["m1", "m2", "m3"]


def test_no_failures_reported_means_every_record_succeeded():
    assert _outcome({"batchItemFailures": []}, IDS).failed == []
    assert _outcome(None, IDS).failed == []


def test_reported_failures_fail_only_those_records():
    out = _outcome({"batchItemFailures": [{"itemIdentifier": "m2"}]}, IDS)
    assert (out.failed, out.function_error) == (["m2"], False)


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{}]},
        {"batchItemFailures": ["m1"]},
        "ok",
    ],
)
def test_a_malformed_answer_fails_the_whole_batch(response):
    out = _outcome(response, IDS)
    assert (out.failed, out.function_error) == (IDS, True)


def test_binary_attributes_reach_handlers_as_base64_text_like_lambda_events():
    image = {"blob": {"B": b"\x00\xff"}, "set": {"BS": [b"a"]}, "nested": {"M": {"x": {"L": [{"B": b"z"}]}}}}
    assert _image(image) == {
        "blob": {"B": "AP8="},
        "set": {"BS": ["YQ=="]},
        "nested": {"M": {"x": {"L": [{"B": "eg=="}]}}},
    }
    assert _image(None) is None


def test_stream_consumers_decode_binary_attributes_from_lambda_events():
    from chalicelib.services.events import decode

    record = {
        "eventID": "e1",
        "eventName": "INSERT",
        "dynamodb": {
            "Keys": {"PK": {"S": "X#1"}},
            "NewImage": {"kind": {"S": "x"}, "blob": {"B": "AP8="}, "m": {"M": {"b": {"BS": ["YQ=="]}}}},
            "SequenceNumber": "1",
        },
    }
    change = decode(record)
    assert change.new["blob"].value == b"\x00\xff"
    assert {b.value for b in change.new["m"]["b"]} == {b"a"}
