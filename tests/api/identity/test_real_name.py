"""Real-name verification: validation, provider, one identity per account, and the ID number never in clear."""

from __future__ import annotations

import json
import logging

import boto3

from chalicelib.adapters import crypto
from chalicelib.config import settings
from chalicelib.store import users as user_store

ID = "11010519491231002X"  # a valid GB 11643 number (check digit X)
ID2 = "440524198001010013"


def _submit(api, token, name="张三", id_number=ID):
    return api.post("/v1/me/real-name", {"name": name, "id_number": id_number}, token=token)


def test_real_name_is_verified_and_returned_masked(api, users):
    worker = users.make("worker")
    reply = _submit(api, worker.token, id_number=ID.lower())
    assert reply.status == 200
    assert reply.json == {
        "status": "verified",
        "name": "*三",
        "id_number": "110105********002X",
        "verified_at": "2026-11-25T08:00:00Z",
    }
    me = api.get("/v1/me", token=worker.token).json
    assert me["real_name"]["id_number"] == "110105********002X"


def test_stored_envelope_decrypts_only_for_its_owner_and_field(api, users):
    worker = users.make("worker")
    _submit(api, worker.token)
    item = user_store.get_user(worker.id, consistent=True)
    assert crypto.decrypt_field(item.id_number_enc, owner=worker.id, field="id_number") == ID
    assert item.birth_date == "1949-12-31"
    assert item.id_province == "11"
    for owner, field in ((users.make("worker").id, "id_number"), (worker.id, "real_name")):
        try:
            crypto.decrypt_field(item.id_number_enc, owner=owner, field=field)
        except Exception:  # KMS refuses the context, or GCM refuses the associated data
            continue
        raise AssertionError("envelope decrypted under the wrong owner/field")


def test_wrong_check_digit_returns_422_with_fields(api, users):
    worker = users.make("worker")
    reply = _submit(api, worker.token, id_number="110105194912310021")
    assert reply.status == 422
    assert "校验位" in reply.json["error"]["details"]["fields"]["id_number"]


def test_bad_name_and_bad_number_are_reported_together(api, users):
    reply = _submit(api, users.make("worker").token, name="Zhang San", id_number="123")
    assert reply.status == 422
    assert set(reply.json["error"]["details"]["fields"]) == {"name", "id_number"}


def test_under_sixteen_on_the_stage_clock_is_refused(api, users):
    # Born 2010-11-26: 15 on 2026-11-25.
    born = "11010520101126001"
    from chalicelib.domain.identity import id_check_digit

    reply = _submit(api, users.make("worker").token, id_number=born + id_check_digit(born))
    assert reply.status == 422
    assert reply.code == "AGE_BELOW_MINIMUM"


def test_birth_date_in_the_future_is_refused(api, users):
    from chalicelib.domain.identity import id_check_digit

    born = "11010520270101001"
    reply = _submit(api, users.make("worker").token, id_number=born + id_check_digit(born))
    assert reply.status == 422
    assert "出生日期" in reply.json["error"]["details"]["fields"]["id_number"]


def test_one_identity_one_account(api, users):
    first, second = users.make("worker"), users.make("merchant")
    assert _submit(api, first.token).status == 200
    reply = _submit(api, second.token)
    assert reply.status == 409
    assert reply.code == "IDENTITY_IN_USE"


def test_verifying_twice_returns_409(api, users):
    worker = users.make("worker")
    assert _submit(api, worker.token).status == 200
    again = _submit(api, worker.token, id_number=ID2, name="李四")
    assert again.status == 409
    assert again.code == "REAL_NAME_ALREADY_VERIFIED"


def test_provider_mismatch_returns_422_and_stores_nothing(api, users):
    worker = users.make("worker")
    reply = _submit(api, worker.token, name="假名字")
    assert reply.status == 422
    assert reply.code == "REAL_NAME_MISMATCH"
    assert user_store.idnum_owner(crypto.blind_index("idnum", ID)) is None
    assert _submit(api, worker.token).status == 200


def test_provider_outage_is_503(api, users):
    reply = _submit(api, users.make("worker").token, name="停机")
    assert reply.status == 503


def test_id_number_never_appears_in_table_logs_or_responses(api, users, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    worker = users.make("worker")
    replies = [
        _submit(api, worker.token, id_number="110105194912310021"),  # wrong check digit
        _submit(api, worker.token, name="假名", id_number=ID),  # provider mismatch
        _submit(api, worker.token, id_number=ID.lower()),  # success
        _submit(api, users.make("worker").token, id_number=ID),  # conflict
        api.get("/v1/me", token=worker.token),
    ]
    raw_items = boto3.client("dynamodb", region_name=settings().region).scan(TableName=settings().table_name)["Items"]
    haystacks = [json.dumps(raw_items), caplog.text, *(r.body.decode() for r in replies)]
    captured = capsys.readouterr()
    haystacks += [captured.out, captured.err]
    for text in haystacks:
        assert ID not in text
        assert ID.lower() not in text
        assert "19491231" not in text  # not even the birth-date part
        assert "110105194912310021" not in text
