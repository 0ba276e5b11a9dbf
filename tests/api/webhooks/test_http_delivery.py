"""The HTTP sender against real sockets on loopback: it connects to the address it is given, sends the URL's host,
reports status and latency, does not follow redirects, and gives up after its timeout."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chalicelib.adapters import http_delivery


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append((self.path, dict(self.headers), body))  # type: ignore[attr-defined]
        status = self.server.status  # type: ignore[attr-defined]
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "http://169.254.169.254/")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Any]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.seen = []  # type: ignore[attr-defined]
    srv.status = 200  # type: ignore[attr-defined]
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _post(port: int, *, address: str = "127.0.0.1", timeout_s: float = 5) -> http_delivery.Outcome:
    return http_delivery.post(
        scheme="http",
        address=address,
        port=port,
        host="hooks.example.com",
        host_header="hooks.example.com",
        path="/cb?x=1",
        body=b'{"a":1}',
        headers={"X-Taskhall-Event": "claim.accepted", "Content-Type": "application/json"},
        timeout_s=timeout_s,
    )


def test_post_connects_to_the_given_address_with_the_urls_host(server):
    out = _post(server.server_address[1])
    assert out.ok and out.status == 200 and out.error is None and out.latency_ms >= 0
    [(path, headers, body)] = server.seen
    assert path == "/cb?x=1" and body == b'{"a":1}'
    assert headers["Host"] == "hooks.example.com" and headers["X-Taskhall-Event"] == "claim.accepted"


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(server):
    server.status = 302
    out = _post(server.server_address[1])
    assert out.status == 302 and not out.ok
    assert len(server.seen) == 1


def test_a_server_error_is_reported_with_its_status(server):
    server.status = 500
    out = _post(server.server_address[1])
    assert (out.status, out.ok, out.error) == (500, False, None)


def test_a_receiver_that_never_answers_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never answers
    try:
        out = _post(listener.getsockname()[1], timeout_s=0.5)
    finally:
        listener.close()
    assert out.status is None and out.error == "timeout" and 400 <= out.latency_ms < 5_000


def test_a_closed_port_is_a_connection_error():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    out = _post(port)
    assert out.status is None and out.error == "connection"


def test_resolve_lists_addresses_and_an_unknown_host_resolves_to_nothing():
    assert http_delivery.resolve("127.0.0.1", 80) == ["127.0.0.1"]
    assert http_delivery.resolve("::1", 80) == ["::1"]
    assert http_delivery.resolve("no-such-host.invalid", 443) == []


def test_post_reaches_an_ipv6_address():
    class V6(ThreadingHTTPServer):
        address_family = socket.AF_INET6

    try:
        srv = V6(("::1", 0), _Handler)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    srv.seen, srv.status = [], 201  # type: ignore[attr-defined]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        out = _post(srv.server_address[1], address="::1")
    finally:
        srv.shutdown()
        srv.server_close()
    assert out.status == 201 and srv.seen[0][1]["Host"] == "hooks.example.com"


def _self_signed(tmp_path: Any, name: str) -> tuple[str, str]:
    """A certificate for `name` (and its key) in PEM files."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


def _tls_server(tmp_path: Any, name: str) -> tuple[Any, str]:
    import ssl

    cert_file, key_file = _self_signed(tmp_path, name)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.seen, srv.status = [], 200  # type: ignore[attr-defined]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, cert_file


def _tls_post(srv: Any, ca_file: str) -> http_delivery.Outcome:
    return http_delivery.post(
        scheme="https",
        address="127.0.0.1",
        port=srv.server_address[1],
        host="hooks.example.com",
        host_header="hooks.example.com",
        path="/cb",
        body=b"{}",
        headers={},
        timeout_s=5,
        ca_file=ca_file,
    )


def test_https_to_the_checked_address_verifies_the_certificate_against_the_urls_host(tmp_path):
    srv, ca_file = _tls_server(tmp_path, "hooks.example.com")
    try:
        out = _tls_post(srv, ca_file)
    finally:
        srv.shutdown()
        srv.server_close()
    assert out.status == 200 and out.error is None
    assert srv.seen[0][1]["Host"] == "hooks.example.com"


def test_https_to_a_server_with_another_names_certificate_fails(tmp_path):
    srv, ca_file = _tls_server(tmp_path, "attacker.example.net")
    try:
        out = _tls_post(srv, ca_file)
    finally:
        srv.shutdown()
        srv.server_close()
    assert out.status is None and out.error == "tls" and srv.seen == []
