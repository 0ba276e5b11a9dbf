"""The shapes every payment adapter speaks: intents, app pay params, verified notifications, answers, payouts, errors.

Amounts are integer fen here; an adapter converts at its edge (Alipay yuan strings via `amounts`). Adapters are
pure apart from an injectable HTTP `Transport`: no table access, no routes, no logging of secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, Protocol

Channel = Literal["alipay", "wechat", "sandbox"]
NotifyStatus = Literal["success", "failed", "pending"]
# accepted: the provider holds the transfer, outcome not final yet (poll `query`).
# not_found: a verified "no such transfer" from `query`: the submit never landed and may be re-sent with the same id.
PayoutStatus = Literal["accepted", "paid", "failed", "not_found"]

# China has had no daylight saving since 1991; a fixed offset avoids depending on tzdata in Lambda.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

Now = Callable[[], datetime]


# ---------------------------------------------------------------------------------------------- deposits


@dataclass(frozen=True)
class PayIntent:
    """What the deposit service asks a provider to collect. `deposit_id` is the merchant order number."""

    deposit_id: str
    amount_fen: int
    subject: str
    notify_url: str
    expires_at: datetime | None = None  # aware; the provider closes the order after this


@dataclass(frozen=True)
class PayParams:
    """What the app needs to open the provider's payment sheet (returned as `pay_params` by POST /v1/deposits)."""

    channel: Channel
    params: dict[str, str]


@dataclass(frozen=True)
class Notification:
    """A provider notification whose signature (and, for WeChat, encryption) has been verified.

    The caller still checks `out_trade_no` names a known deposit of this channel and that `amount_fen` equals it;
    the adapter only vouches that the provider said so. `raw` is the verified payload, for audit.
    """

    channel: Channel
    out_trade_no: str
    provider_trade_no: str
    amount_fen: int
    status: NotifyStatus
    raw: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class NotifyAnswer:
    """The exact HTTP answer the provider expects from the notify endpoint."""

    status_code: int
    content_type: str
    body: bytes


# ---------------------------------------------------------------------------------------------- payouts


@dataclass(frozen=True)
class PayoutRequest:
    """One withdrawal to send. `withdrawal_id` is our idempotency key at the provider (resending is safe)."""

    withdrawal_id: str
    amount_fen: int
    account: str  # Alipay login id / user id; WeChat openid under our appid; sandbox: anything
    real_name: str  # the verified real name; the provider checks it against the account holder
    remark: str = "任务报酬提现"
    account_type: str | None = None  # Alipay: ALIPAY_LOGON_ID (default) or ALIPAY_USER_ID


@dataclass(frozen=True)
class PayoutResult:
    withdrawal_id: str
    status: PayoutStatus
    provider_ref: str | None = None  # the provider's transfer number, when it has one
    amount_fen: int | None = None  # as reported by the provider, when it reports it
    reason: str | None = None  # the provider's failure code for `failed`
    # Something the user must still do in the provider's app (WeChat: `package_info` for the receipt page).
    user_action: dict[str, str] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


# ---------------------------------------------------------------------------------------------- errors


class PaymentAdapterError(Exception):
    """Base of adapter-level errors; services map them, users never see them directly."""


class NotifyRejected(PaymentAdapterError):
    """A notification we will not act on. `reason` is a stable snake_case code for logs and risk flags."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class BadSignature(NotifyRejected):
    """Signature missing, wrong, from an unknown key/serial, or outside the allowed time window: maybe forged."""


class ProviderError(PaymentAdapterError):
    """A provider call whose outcome we cannot trust or do not know. Never means "the transfer failed".

    `retryable` is True when the same request may simply be tried again later (timeouts, 5xx, SYSTEM_ERROR);
    for payouts the caller polls `query` before deciding anything.
    """

    def __init__(self, code: str, message: str = "", *, retryable: bool) -> None:
        self.code = code
        self.message = message
        self.retryable = retryable
        super().__init__(f"{code}: {message}" if message else code)


class ProviderConfigError(PaymentAdapterError):
    """The providers secret lacks or garbles what this adapter needs."""


# ---------------------------------------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]  # keys lower-cased
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


# Sends one request. Raises ProviderError(retryable=True) when the outcome is unknown (timeout, reset).
Transport = Callable[[HttpRequest], HttpResponse]


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def urllib_transport(timeout_s: float = 10.0) -> Transport:
    """The production transport: stdlib urllib over HTTPS, so Lambda needs no extra package."""

    def send(request: HttpRequest) -> HttpResponse:
        import urllib.error
        import urllib.request

        if not request.url.startswith("https://"):
            raise ProviderConfigError(f"refusing a non-HTTPS provider URL: {request.url}")
        req = urllib.request.Request(  # noqa: S310 - scheme checked above
            request.url, data=request.body or None, method=request.method, headers=request.headers
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 - scheme checked above
                return HttpResponse(resp.status, lower_headers(dict(resp.headers.items())), resp.read())
        except urllib.error.HTTPError as exc:
            return HttpResponse(exc.code, lower_headers(dict(exc.headers.items())), exc.read())
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise ProviderError("NETWORK", type(exc).__name__, retryable=True) from exc

    return send


# ---------------------------------------------------------------------------------------------- interfaces


class PaymentProvider(Protocol):
    """Deposits through one channel."""

    channel: Channel

    def pay_params(self, intent: PayIntent) -> PayParams: ...

    def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> Notification:
        """Verify a notify request exactly as received (raw body, headers). Raises NotifyRejected/BadSignature."""
        ...

    def ack(self) -> NotifyAnswer:
        """Answer for "received and handled (or knowingly ignored)": the provider stops resending."""
        ...

    def nack(self, *, retryable: bool = True) -> NotifyAnswer:
        """Answer for "not handled": the provider resends later."""
        ...


class PayoutProvider(Protocol):
    """Withdrawals through one channel."""

    channel: Channel

    def submit(self, request: PayoutRequest) -> PayoutResult: ...

    def query(self, withdrawal_id: str) -> PayoutResult: ...
