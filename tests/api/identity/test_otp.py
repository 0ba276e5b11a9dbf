"""SMS codes: life, tries, single use, rate limits per phone and per IP, stored only as an HMAC."""

from __future__ import annotations

import json

import boto3

from chalicelib.config import settings
from tests.api.identity.factory import PASSWORD, new_phone


def _register(api, phone, otp):
    return api.post("/v1/auth/register", {"phone": phone, "password": PASSWORD, "otp": otp, "role": "worker"})


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_otp_response_in_test_stage_carries_dev_code(api, phone):
    reply = api.post("/v1/auth/otp", {"phone": phone, "purpose": "register"})
    assert reply.status == 200
    assert reply.json["expires_in"] == 300
    assert reply.json["resend_after_s"] == 60
    assert len(reply.json["dev_code"]) == 6 and reply.json["dev_code"].isdigit()


def test_wrong_code_five_times_kills_the_code(api, flow, phone):
    code = flow.code(phone)
    for left in (4, 3, 2, 1):
        reply = _register(api, phone, _wrong(code))
        assert reply.status == 422
        assert reply.code == "OTP_INVALID"
        assert str(left) in reply.json["error"]["details"]["fields"]["otp"]
    fifth = _register(api, phone, _wrong(code))
    assert fifth.code == "OTP_LOCKED"
    # The right code no longer helps: the code is dead.
    late = _register(api, phone, code)
    assert late.status == 422
    assert late.code == "OTP_LOCKED"
    # A new code works.
    assert _register(api, phone, flow.code(phone)).status == 201


def test_code_expires_after_five_minutes(api, flow, clock, phone):
    code = flow.code(phone)
    clock.advance(301)
    reply = _register(api, phone, code)
    assert reply.status == 422
    assert reply.code == "OTP_EXPIRED"


def test_code_works_once(api, flow, phone):
    code = flow.code(phone)
    assert _register(api, phone, code).status == 201
    again = _register(api, new_phone(), code)
    assert again.code == "OTP_EXPIRED"


def test_code_is_bound_to_its_purpose(api, flow, phone):
    flow.register(phone)
    reset_code = flow.code(phone, "reset")
    login = api.post("/v1/auth/login", {"phone": phone, "otp": reset_code})
    assert login.status == 422
    assert login.code == "OTP_EXPIRED"


def test_second_code_within_a_minute_is_429_with_retry_after(api, clock, phone):
    assert api.post("/v1/auth/otp", {"phone": phone, "purpose": "register"}).status == 200
    clock.advance(20)
    again = api.post("/v1/auth/otp", {"phone": phone, "purpose": "login"})
    assert again.status == 429
    assert again.code == "OTP_TOO_FREQUENT"
    assert 1 <= int(again.headers["Retry-After"]) <= 60
    clock.advance(int(again.headers["Retry-After"]))
    assert api.post("/v1/auth/otp", {"phone": phone, "purpose": "login"}).status == 200


def test_ten_codes_per_phone_per_day(api, clock):
    clock.advance(86400 - clock.now_ts() % 86400)  # start of a day window, so 11 minutes stay inside it
    phone = new_phone()
    for _ in range(10):
        assert api.post("/v1/auth/otp", {"phone": phone, "purpose": "register"}).status == 200
        clock.advance(61)
    eleventh = api.post("/v1/auth/otp", {"phone": phone, "purpose": "register"})
    assert eleventh.status == 429
    assert eleventh.code == "OTP_DAILY_LIMIT"
    assert int(eleventh.headers["Retry-After"]) > 3600


def test_per_ip_limit_across_phones(api, clock):
    clock.advance(600 - clock.now_ts() % 600)
    for _ in range(30):
        assert api.post("/v1/auth/otp", {"phone": new_phone(), "purpose": "register"}).status == 200
    refused = api.post("/v1/auth/otp", {"phone": new_phone(), "purpose": "register"})
    assert refused.status == 429
    assert "Retry-After" in refused.headers


def test_invalid_purpose_and_phone_are_422(api):
    assert api.post("/v1/auth/otp", {"phone": "13800000000", "purpose": "spam"}).status == 422
    bad = api.post("/v1/auth/otp", {"phone": "1380000000", "purpose": "login"})
    assert bad.status == 422
    assert "phone" in bad.json["error"]["details"]["fields"]


def test_codes_and_phones_are_not_stored_in_clear(api, phone):
    code = api.post("/v1/auth/otp", {"phone": phone, "purpose": "register"}).json["dev_code"]
    raw = boto3.client("dynamodb", region_name=settings().region).scan(TableName=settings().table_name)["Items"]
    dump = json.dumps(raw)
    assert code not in dump
    assert phone not in dump


def test_dev_code_is_withheld_outside_local_stages(aws, monkeypatch):
    from chalicelib.services import otp

    monkeypatch.setattr(otp, "settings", lambda: type("S", (), {"is_local": False})())
    assert otp.dev_code_visible() is False


def test_dev_sms_logs_no_code_outside_local_stages(monkeypatch, capsys):
    from chalicelib.adapters import sms

    monkeypatch.setattr(sms, "settings", lambda: type("S", (), {"is_local": False})())
    sms.DevSms().send_otp("13800001234", "654321", "login")
    out = capsys.readouterr()
    assert "654321" not in out.out + out.err
    assert "13800001234" not in out.out + out.err
