"""Sandbox provider: Alipay-style signed notifications through the Alipay verification path; poll-settled payouts."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest

from chalicelib.adapters.payments.base import BadSignature, PayIntent, PayoutRequest, ProviderConfigError
from chalicelib.adapters.payments.keys import load_private_key, load_public_key, rsa_sign, rsa_verify
from chalicelib.adapters.payments.sandbox import (
    FORM_CONTENT_TYPE,
    SANDBOX_APP_ID,
    MemorySandboxPayoutStore,
    SandboxPayouts,
    SandboxProvider,
    SandboxTransfer,
    generate_sandbox_keys,
    sandbox_trade_no,
    settle,
)
from tests.unit.payments import helpers as h

DEPOSIT = "dep_01JTESTDEPOSIT0000000000"


@pytest.fixture
def sandbox(keys) -> SandboxProvider:
    return SandboxProvider(
        provider_public_key_pem=h.pem_public(keys.sandbox),
        provider_private_key_pem=h.pem_private(keys.sandbox),
        now=h.fixed_now,
    )


def test_generated_sandbox_keys_are_a_matching_pem_pair() -> None:
    pair = generate_sandbox_keys()
    assert set(pair) == {"provider_private_key_pem", "provider_public_key_pem"}
    assert pair["provider_private_key_pem"].startswith("-----BEGIN PRIVATE KEY-----")
    signature = rsa_sign(load_private_key(pair["provider_private_key_pem"]), b"x")
    assert rsa_verify(load_public_key(pair["provider_public_key_pem"]), b"x", signature)


def test_built_notification_is_a_signed_form_post_that_verifies(sandbox) -> None:
    body, content_type = sandbox.build_notification(DEPOSIT, 1234)
    assert content_type == FORM_CONTENT_TYPE
    fields = dict(urllib.parse.parse_qsl(body.decode()))
    assert (fields["app_id"], fields["sign_type"], fields["trade_status"]) == (SANDBOX_APP_ID, "RSA2", "TRADE_SUCCESS")
    assert fields["total_amount"] == "12.34"
    assert fields["notify_time"] == "2026-11-25 16:00:00"

    note = sandbox.verify_notification(body, {"Content-Type": content_type})
    assert (note.channel, note.out_trade_no, note.amount_fen, note.status) == ("sandbox", DEPOSIT, 1234, "success")
    assert note.provider_trade_no == sandbox_trade_no(DEPOSIT)


def test_failed_payment_notification_reads_as_failed(sandbox) -> None:
    body, _ = sandbox.build_notification(DEPOSIT, 1234, result="fail")
    assert sandbox.verify_notification(body, {}).status == "failed"


def test_trade_number_is_stable_per_deposit_and_overridable(sandbox) -> None:
    first, _ = sandbox.build_notification(DEPOSIT, 100)
    second, _ = sandbox.build_notification(DEPOSIT, 100)
    assert (
        sandbox.verify_notification(first, {}).provider_trade_no
        == sandbox.verify_notification(second, {}).provider_trade_no
    )
    third, _ = sandbox.build_notification(DEPOSIT, 100, trade_no="SBXOTHER")
    assert sandbox.verify_notification(third, {}).provider_trade_no == "SBXOTHER"


def test_alipay_style_signature_made_independently_verifies_through_the_sandbox(sandbox, keys) -> None:
    params = h.alipay_notify_params(app_id=SANDBOX_APP_ID, auth_app_id=SANDBOX_APP_ID)
    assert sandbox.verify_notification(h.form(h.alipay_sign_notify(params, keys.sandbox)), {}).amount_fen == 1234


def test_notification_from_another_sandbox_key_is_rejected(sandbox, keys) -> None:
    forger = SandboxProvider(
        provider_public_key_pem=h.pem_public(keys.other),
        provider_private_key_pem=h.pem_private(keys.other),
        now=h.fixed_now,
    )
    body, _ = forger.build_notification(DEPOSIT, 1234)
    with pytest.raises(BadSignature):
        sandbox.verify_notification(body, {})


def test_notification_with_amount_changed_after_signing_is_rejected(sandbox) -> None:
    body, _ = sandbox.build_notification(DEPOSIT, 1234)
    with pytest.raises(BadSignature):
        sandbox.verify_notification(body.replace(b"total_amount=12.34", b"total_amount=99.99"), {})


def test_real_alipay_notification_is_not_a_sandbox_notification(sandbox, keys) -> None:
    with pytest.raises(BadSignature):
        sandbox.verify_notification(h.form(h.alipay_sign_notify(h.alipay_notify_params(), keys.alipay)), {})


def test_building_notifications_needs_the_provider_private_key(keys) -> None:
    verifier_only = SandboxProvider(
        provider_public_key_pem=h.pem_public(keys.sandbox), provider_private_key_pem=None, now=h.fixed_now
    )
    with pytest.raises(ProviderConfigError):
        verifier_only.build_notification(DEPOSIT, 100)


def test_pay_params_point_the_app_at_the_local_pay_route(sandbox) -> None:
    intent = PayIntent(deposit_id=DEPOSIT, amount_fen=500, subject="充值", notify_url="http://localhost/notify")
    assert sandbox.pay_params(intent).params == {
        "out_trade_no": DEPOSIT,
        "total_amount": "5.00",
        "pay_path": f"/v1/sandbox/deposits/{DEPOSIT}/pay",
    }


def test_sandbox_answers_like_alipay(sandbox) -> None:
    assert (sandbox.ack().body, sandbox.nack().body) == (b"success", b"fail")


# ---------------------------------------------------------------------------------------------- payouts


def make_payout(withdrawal_id: str = "wdr_01JTESTWITHDRAWAL00000000", **overrides: Any) -> PayoutRequest:
    return PayoutRequest(
        withdrawal_id=withdrawal_id,
        amount_fen=overrides.get("amount_fen", 100),
        account="sandbox-account",
        real_name="张三",
    )


@pytest.fixture
def payouts() -> SandboxPayouts:
    return SandboxPayouts(MemorySandboxPayoutStore())


def test_submitted_payout_is_accepted_then_paid_on_the_next_poll(payouts) -> None:
    accepted = payouts.submit(make_payout())
    assert (accepted.status, accepted.amount_fen) == ("accepted", 100)
    paid = payouts.query("wdr_01JTESTWITHDRAWAL00000000")
    assert (paid.status, paid.provider_ref, paid.reason) == ("paid", accepted.provider_ref, None)
    assert payouts.query("wdr_01JTESTWITHDRAWAL00000000").status == "paid"


def test_payout_marked_failed_before_the_poll_settles_as_failed(payouts) -> None:
    payouts.submit(make_payout())
    assert payouts.mark_failed("wdr_01JTESTWITHDRAWAL00000000") is True
    failed = payouts.query("wdr_01JTESTWITHDRAWAL00000000")
    assert (failed.status, failed.reason) == ("failed", "SANDBOX_FAIL")


def test_failure_can_be_requested_before_the_payout_is_submitted(payouts) -> None:
    assert payouts.mark_failed("wdr_early") is True
    assert payouts.query("wdr_early").status == "not_found"
    payouts.submit(make_payout("wdr_early"))
    assert payouts.query("wdr_early").status == "failed"


def test_marking_a_settled_payout_failed_is_refused(payouts) -> None:
    payouts.submit(make_payout())
    payouts.query("wdr_01JTESTWITHDRAWAL00000000")
    assert payouts.mark_failed("wdr_01JTESTWITHDRAWAL00000000") is False
    assert payouts.query("wdr_01JTESTWITHDRAWAL00000000").status == "paid"


def test_resubmitting_the_same_payout_changes_nothing(payouts) -> None:
    payouts.submit(make_payout())
    payouts.query("wdr_01JTESTWITHDRAWAL00000000")
    again = payouts.submit(make_payout(amount_fen=999))
    assert (again.status, again.amount_fen) == ("paid", 100)


def test_unknown_payout_is_not_found(payouts) -> None:
    assert payouts.query("wdr_never").status == "not_found"


def test_settle_is_a_pure_rule() -> None:
    assert settle(SandboxTransfer("w", submitted=True)).settled == "paid"
    assert settle(SandboxTransfer("w", submitted=True, fail_requested=True)).settled == "failed"
    assert settle(SandboxTransfer("w")).settled is None
    done = SandboxTransfer("w", submitted=True, fail_requested=True, settled="paid")
    assert settle(done) is done
