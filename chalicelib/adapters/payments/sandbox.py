"""The local payment provider: Alipay-style RSA2-signed notifications and payouts that settle on the next poll.

Its notifications are verified by the very code that verifies Alipay's (`alipay.AlipayNotifyVerifier`), with the
sandbox provider's public key, so a local run exercises the real verification path. Payout state lives in a
small store the caller provides (the lead's table in the app, a dict in tests).
"""

from __future__ import annotations

import re
import secrets
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from chalicelib.adapters.payments.alipay import (
    AlipayNotifyVerifier,
    shanghai_timestamp,
    sign_notification,
    text_ack,
    text_nack,
)
from chalicelib.adapters.payments.amounts import fen_to_yuan
from chalicelib.adapters.payments.base import (
    Channel,
    Notification,
    NotifyAnswer,
    Now,
    PayIntent,
    PayoutRequest,
    PayoutResult,
    PayoutStatus,
    PayParams,
    ProviderConfigError,
)
from chalicelib.adapters.payments.keys import generate_key_pair, load_private_key, load_public_key

SANDBOX_APP_ID = "sandbox"
NOTIFY_PATH = "/v1/payments/sandbox/notify"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
FAIL_REASON = "SANDBOX_FAIL"


def generate_sandbox_keys() -> dict[str, str]:
    """A fresh provider key pair for the `sandbox` member of the providers secret (local stack start-up)."""
    private_pem, public_pem = generate_key_pair()
    return {"provider_private_key_pem": private_pem, "provider_public_key_pem": public_pem}


def sandbox_trade_no(deposit_id: str) -> str:
    """The sandbox's trade number for a deposit: stable, so a re-sent payment is recognisably the same one."""
    return "SBX" + re.sub(r"[^0-9A-Za-z]", "", deposit_id)


class SandboxProvider:
    """Deposits through the sandbox: `pay_params` points the app at the local pay route."""

    channel: Channel = "sandbox"

    def __init__(self, *, provider_public_key_pem: str, provider_private_key_pem: str | None, now: Now) -> None:
        self._now = now
        self._private_pem = provider_private_key_pem
        self._notify = AlipayNotifyVerifier(
            channel="sandbox", app_id=SANDBOX_APP_ID, public_key=load_public_key(provider_public_key_pem)
        )

    def pay_params(self, intent: PayIntent) -> PayParams:
        return PayParams(
            channel="sandbox",
            params={
                "out_trade_no": intent.deposit_id,
                "total_amount": fen_to_yuan(intent.amount_fen),
                "pay_path": f"/v1/sandbox/deposits/{intent.deposit_id}/pay",
            },
        )

    def build_notification(
        self,
        deposit_id: str,
        amount_fen: int,
        result: Literal["success", "fail"] = "success",
        trade_no: str | None = None,
    ) -> tuple[bytes, str]:
        """The form body and content type the sandbox POSTs to `/v1/payments/sandbox/notify`."""
        if self._private_pem is None:
            raise ProviderConfigError("sandbox: provider_private_key_pem is needed to send notifications")
        if result not in ("success", "fail"):
            raise ValueError(f"result must be success or fail, not {result!r}")
        now = self._now()
        params = {
            "app_id": SANDBOX_APP_ID,
            "charset": "utf-8",
            "notify_id": secrets.token_hex(16),
            "notify_time": shanghai_timestamp(now),
            "notify_type": "trade_status_sync",
            "out_trade_no": deposit_id,
            "trade_no": trade_no or sandbox_trade_no(deposit_id),
            "total_amount": fen_to_yuan(amount_fen),
            "trade_status": "TRADE_SUCCESS" if result == "success" else "TRADE_CLOSED",
            "gmt_payment": shanghai_timestamp(now),
            "version": "1.0",
            "sign_type": "RSA2",
        }
        params["sign"] = sign_notification(params, load_private_key(self._private_pem))
        return urllib.parse.urlencode(params).encode("ascii"), FORM_CONTENT_TYPE

    def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> Notification:
        return self._notify.verify(body)

    def ack(self) -> NotifyAnswer:
        return text_ack()

    def nack(self, *, retryable: bool = True) -> NotifyAnswer:
        return text_nack()


# ---------------------------------------------------------------------------------------------- payouts


@dataclass(frozen=True)
class SandboxTransfer:
    """What the sandbox remembers about one withdrawal."""

    withdrawal_id: str
    submitted: bool = False
    amount_fen: int | None = None
    fail_requested: bool = False  # POST /v1/sandbox/withdrawals/{id}/fail
    settled: PayoutStatus | None = None  # "paid" or "failed", once a poll has reported it

    @property
    def trade_no(self) -> str:
        return "SBXT" + re.sub(r"[^0-9A-Za-z]", "", self.withdrawal_id)


class SandboxPayoutStore(Protocol):
    """Persistence for sandbox transfers; the app backs it with its table, tests with a dict."""

    def load(self, withdrawal_id: str) -> SandboxTransfer | None: ...

    def save(self, transfer: SandboxTransfer) -> None: ...


class MemorySandboxPayoutStore:
    """In-process store (tests, single-process tools)."""

    def __init__(self) -> None:
        self._items: dict[str, SandboxTransfer] = {}
        self._lock = threading.Lock()

    def load(self, withdrawal_id: str) -> SandboxTransfer | None:
        with self._lock:
            return self._items.get(withdrawal_id)

    def save(self, transfer: SandboxTransfer) -> None:
        with self._lock:
            self._items[transfer.withdrawal_id] = transfer


def settle(transfer: SandboxTransfer) -> SandboxTransfer:
    """The pure settlement rule: a submitted transfer becomes failed if a failure was requested, else paid."""
    if transfer.settled is not None or not transfer.submitted:
        return transfer
    return replace(transfer, settled="failed" if transfer.fail_requested else "paid")


class SandboxPayouts:
    """`submit` accepts; the next `query` settles (paid, or failed if `mark_failed` was called first)."""

    channel: Channel = "sandbox"

    def __init__(self, store: SandboxPayoutStore) -> None:
        self._store = store

    def submit(self, request: PayoutRequest) -> PayoutResult:
        current = self._store.load(request.withdrawal_id)
        if current is not None and current.submitted:
            return self._result(current)  # a resend of the same withdrawal is a no-op, like the real providers
        transfer = (
            replace(current, submitted=True, amount_fen=request.amount_fen)
            if current
            else SandboxTransfer(request.withdrawal_id, submitted=True, amount_fen=request.amount_fen)
        )
        self._store.save(transfer)
        return self._result(transfer)

    def query(self, withdrawal_id: str) -> PayoutResult:
        current = self._store.load(withdrawal_id)
        if current is None or not current.submitted:
            return PayoutResult(withdrawal_id, "not_found")
        settled = settle(current)
        if settled != current:
            self._store.save(settled)
        return self._result(settled)

    def mark_failed(self, withdrawal_id: str) -> bool:
        """Make the withdrawal fail when it settles. False if it has already settled (too late)."""
        current = self._store.load(withdrawal_id) or SandboxTransfer(withdrawal_id)
        if current.settled is not None:
            return False
        self._store.save(replace(current, fail_requested=True))
        return True

    @staticmethod
    def _result(transfer: SandboxTransfer) -> PayoutResult:
        status: PayoutStatus = transfer.settled or "accepted"
        return PayoutResult(
            transfer.withdrawal_id,
            status,
            provider_ref=transfer.trade_no,
            amount_fen=transfer.amount_fen,
            reason=FAIL_REASON if status == "failed" else None,
        )
