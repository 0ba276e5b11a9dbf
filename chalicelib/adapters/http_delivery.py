"""Sending webhooks: resolve a host, POST a body to one checked address, and put delivery messages on SQS.

`post` connects to the IP address it is given — the one the caller resolved and checked — and sends the URL's
host as `Host` and as the TLS server name (certificates are verified against the host, not the address). So a
DNS answer that changes between the check and the connection (rebinding) cannot redirect the request.
Redirects are not followed: a 3xx is a failed attempt like any other non-2xx.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters import aws

MAX_RESPONSE_BYTES = 64 * 1024  # read (and drop) at most this much of a receiver's answer


@dataclass(frozen=True)
class Outcome:
    status: int | None  # HTTP status, None when no answer came
    latency_ms: int
    error: str | None  # timeout | connection | tls | protocol, None when an answer came

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6), in resolver order; [] when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def post(
    *,
    scheme: str,
    address: str,
    port: int,
    host: str,
    host_header: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    timeout_s: float,
    ca_file: str | None = None,
) -> Outcome:
    """POST `body` to `address`:`port` for the URL `scheme://host/path`. `ca_file` replaces the public roots (tests)."""
    import certifi
    import urllib3

    kwargs: dict[str, Any] = {}
    pool_cls: Any = urllib3.HTTPConnectionPool
    if scheme == "https":
        pool_cls = urllib3.HTTPSConnectionPool
        kwargs = {
            "server_hostname": host,
            "assert_hostname": host,
            "cert_reqs": "CERT_REQUIRED",
            "ca_certs": ca_file or certifi.where(),
        }
    pool = pool_cls(
        address, port, timeout=urllib3.Timeout(total=timeout_s), retries=False, maxsize=1, block=False, **kwargs
    )
    started = time.monotonic()
    status: int | None = None
    error: str | None = None
    try:
        resp = pool.urlopen(
            "POST",
            path,
            body=body,
            headers={**headers, "Host": host_header},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            status = int(resp.status)
            resp.read(MAX_RESPONSE_BYTES)
        finally:
            resp.release_conn()
    except urllib3.exceptions.NewConnectionError:  # a subclass of ConnectTimeoutError: refused, unreachable
        error = "connection"
    except (urllib3.exceptions.TimeoutError, TimeoutError):
        error = "timeout"
    except urllib3.exceptions.SSLError:
        error = "tls"
    except (ConnectionError, OSError):
        error = "connection"
    except urllib3.exceptions.HTTPError as exc:
        error = "timeout" if "timed out" in str(exc).lower() else "protocol"
    finally:
        pool.close()
    latency_ms = int((time.monotonic() - started) * 1000)
    return Outcome(status=status if error is None else None, latency_ms=latency_ms, error=error)


# ---------------------------------------------------------------- the webhooks queue

_urls: dict[tuple[str, str], str] = {}
_lock = threading.Lock()


def _queue_url(queue_name: str) -> str:
    key = (queue_name, os.environ.get("AWS_ENDPOINT_URL", ""))  # tests switch between moto accounts
    with _lock:
        url = _urls.get(key)
    if url is None:
        url = str(aws.client("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"])
        with _lock:
            _urls[key] = url
    return url


def enqueue(queue_name: str, messages: Iterable[dict[str, Any]]) -> None:
    """Send JSON messages (at most 10 per request); raises if any was not accepted."""
    batch = list(messages)
    if not batch:
        return
    url = _queue_url(queue_name)
    client = aws.client("sqs")
    for start in range(0, len(batch), 10):
        chunk = batch[start : start + 10]
        resp = client.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": json.dumps(m, separators=(",", ":"))} for i, m in enumerate(chunk)],
        )
        if resp.get("Failed"):
            raise RuntimeError(f"{len(resp['Failed'])} webhook message(s) were not queued")
