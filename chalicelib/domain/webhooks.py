"""Webhook rules, pure: which events exist, URL and address rules (SSRF), signatures, ids and the retry schedule."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from chalicelib.domain.errors import Invalid

EVENTS = (
    "task.approved",
    "task.rejected",
    "claim.submitted",
    "claim.accepted",
    "claim.rejected",
    "task.completed",
    "dispute.resolved",
)

MAX_ENDPOINTS = 10  # per merchant
MAX_URL_CHARS = 2048
TIMEOUT_S = 10  # per delivery attempt, connect and response together

# Retry schedule (docs/decisions/0072-webhook-retries.md): the n-th retry waits a uniformly random time in
# [0, min(CAP, BASE·2^(n-1))] ("full jitter"), at least FLOOR (the re-enqueue schedule runs once a minute), and a
# delivery is dead-lettered by its first failure at or after RETRY_WINDOW from its creation — so it is retried for
# at least 24 hours whatever the dice say. MAX_ATTEMPTS only bounds an absurd run of tiny delays.
BASE_S = 60
CAP_S = 2 * 3600
FLOOR_S = 60
RETRY_WINDOW = timedelta(hours=24)
MAX_ATTEMPTS = 100
DISABLE_AFTER = timedelta(days=3)  # an endpoint whose every delivery failed this long is disabled
SIGNATURE_TOLERANCE_S = 300

# Cloud metadata services, named even where a broader rule already covers them (AWS, Alibaba Cloud, Tencent).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.0.23")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def forbidden_url(message: str) -> Invalid:
    return Invalid({"url": message}, code="WEBHOOK_URL_FORBIDDEN", message="回调地址不被允许：" + message)


def invalid_url(message: str) -> Invalid:
    return Invalid({"url": message}, code="WEBHOOK_URL_INVALID", message="回调地址格式不正确：" + message)


@dataclass(frozen=True)
class Target:
    """Where a URL points: scheme, host (as written, for Host/SNI), port, and the path with its query."""

    scheme: str
    host: str
    port: int
    path: str

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse_url(url: str, *, allow_http: bool) -> Target:
    """Check the shape of an endpoint URL. Addresses are checked separately, after resolving the host."""
    if len(url) > MAX_URL_CHARS:
        raise invalid_url(f"长度不能超过 {MAX_URL_CHARS}")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        raise invalid_url("不能包含空白或控制字符")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise invalid_url("无法解析") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise invalid_url("只支持 https 地址")
    if scheme == "http" and not allow_http:
        raise forbidden_url("必须使用 https")
    if parts.username is not None or parts.password is not None:
        raise invalid_url("不能包含用户名或密码")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise invalid_url("缺少主机名")
    if parts.fragment:
        raise invalid_url("不能包含 # 片段")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80), path=path)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def address_problem(address: str) -> str | None:
    """Why a webhook must not be sent to `address` (an IP literal), or None if it is a public unicast address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return "不是合法的 IP 地址"
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            problem = address_problem(str(inner))
            if problem:
                return problem
    if ip in METADATA_ADDRESSES:
        return "指向云服务器元数据地址"
    if ip.is_loopback:
        return "指向本机回环地址"
    if ip.is_unspecified:
        return "指向未指定地址"
    if ip.is_link_local:
        return "指向链路本地地址"
    if ip.is_multicast:
        return "指向组播地址"
    if ip.is_private:
        return "指向内网地址"
    if ip.is_reserved or not ip.is_global:
        return "指向保留地址"
    return None


def check_addresses(addresses: Iterable[str]) -> list[str]:
    """Every address the host resolved to must be public; returns them in order. Raises WEBHOOK_URL_FORBIDDEN."""
    found = list(dict.fromkeys(addresses))
    if not found:
        raise Invalid({"url": "域名无法解析"}, code="WEBHOOK_URL_UNRESOLVABLE", message="回调地址的域名无法解析")
    for address in found:
        problem = address_problem(address)
        if problem:
            raise forbidden_url(problem)
    return found


def check_events(events: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(events))
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise Invalid({"events": "不支持的事件：" + "、".join(unknown)}, code="WEBHOOK_EVENT_UNKNOWN")
    if not chosen:
        raise Invalid({"events": "至少订阅一个事件"})
    return chosen


# ---------------------------------------------------------------- signatures


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of `"<t>.<body>"` under the endpoint's secret."""
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now_ts: int, tolerance_s: int = SIGNATURE_TOLERANCE_S) -> bool:
    """What a merchant does on receipt (README): parse `t=…,v1=…`, check the age, compare in constant time."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now_ts - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))


# ---------------------------------------------------------------- events, ids, payloads

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _b32(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def event_id(event: str, object_id: str, at: str) -> str:
    """The same business event (type, object, time of the transition) always gets the same id."""
    return "evt_" + hashlib.sha256(f"{event}|{object_id}|{at}".encode()).hexdigest()[:24]


def delivery_id(webhook_id: str, event: str, at: datetime) -> str:
    """`dlv_` + a ULID-shaped id: the event's millisecond then 80 bits of a hash of (endpoint, event id).

    Deterministic, so a redelivered stream record writes the same key (and nothing new); time-ordered, so the
    delivery log lists newest first by key."""
    ms = int(at.timestamp() * 1000) & ((1 << 48) - 1)
    digest = int.from_bytes(hashlib.sha256(f"{webhook_id}|{event}".encode()).digest()[:10], "big")
    return "dlv_" + _b32(ms, 10) + _b32(digest, 16)


def payload(event: str, evt_id: str, at: str, data: Mapping[str, Any]) -> bytes:
    body = {"id": evt_id, "type": event, "created_at": at, "data": dict(data)}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


_TASK_APPROVED_FROM = frozenset({"pending_review"})
_TASK_APPROVED_TO = frozenset({"published", "approved_unfunded"})
_DISPUTE_DONE = frozenset({"resolved"})


def _status_move(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    before = (old or {}).get("status")
    after = (new or {}).get("status")
    return (str(before) if before is not None else None, str(after) if after is not None else None)


def task_events(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[str]:
    before, after = _status_move(old, new)
    if after is None or before == after:
        return []
    if before in _TASK_APPROVED_FROM and after in _TASK_APPROVED_TO:
        return ["task.approved"]
    if after == "rejected":
        return ["task.rejected"]
    if after == "completed":
        return ["task.completed"]
    return []


def claim_events(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[str]:
    before, after = _status_move(old, new)
    if after is None or before == after:
        return []
    return {"submitted": ["claim.submitted"], "accepted": ["claim.accepted"], "rejected": ["claim.rejected"]}.get(
        after, []
    )


def dispute_events(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[str]:
    before, after = _status_move(old, new)
    if after is None or before == after or before in _DISPUTE_DONE:
        return []
    return ["dispute.resolved"] if after in _DISPUTE_DONE else []


# ---------------------------------------------------------------- retries


def retry_delay_s(failed_attempts: int, rng: random.Random | None = None) -> int:
    """Seconds to wait after the `failed_attempts`-th failure (1-based): full jitter over the capped exponential."""
    n = max(1, failed_attempts)
    ceiling = min(CAP_S, BASE_S * 2 ** min(n - 1, 20))
    draw = (rng or random.SystemRandom()).uniform(0, ceiling)
    return max(FLOOR_S, int(draw))


def retry_ceiling_s(failed_attempts: int) -> int:
    """The longest `retry_delay_s` can be after that failure (tests advance the clock by this much)."""
    n = max(1, failed_attempts)
    return max(FLOOR_S, min(CAP_S, BASE_S * 2 ** min(n - 1, 20)))


def exhausted(created_at: datetime, now: datetime, attempts: int) -> bool:
    """After a failed attempt: is the delivery out of retries (dead-lettered)?"""
    return now - created_at >= RETRY_WINDOW or attempts >= MAX_ATTEMPTS


def should_disable(failing_since: datetime | None, now: datetime) -> bool:
    return failing_since is not None and now - failing_since >= DISABLE_AFTER
