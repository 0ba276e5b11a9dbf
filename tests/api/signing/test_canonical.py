"""The pure signing rules (chalicelib/domain/signing.py), without moto: canonical text, clock window, header syntax."""

from __future__ import annotations

import base64
import hashlib

from chalicelib.domain import signing

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_canonical_text_is_five_lines_with_the_body_hash():
    text = signing.canonical("post", "/v1/tasks?a=1", 1764057600, "n" * 16, b'{"x":1}')
    assert text.decode().split("\n") == [
        "POST",
        "/v1/tasks?a=1",
        "1764057600",
        "n" * 16,
        hashlib.sha256(b'{"x":1}').hexdigest(),
    ]


def test_empty_body_hashes_to_the_sha256_of_nothing():
    assert signing.canonical("GET", "/v1/tasks", 1, "n" * 16, b"").decode().endswith(EMPTY_SHA256)


def test_path_and_query_omits_the_question_mark_without_a_query():
    assert signing.path_and_query("/v1/tasks", "") == "/v1/tasks"
    assert signing.path_and_query("/v1/tasks", "limit=5&status=draft") == "/v1/tasks?limit=5&status=draft"


def test_timestamp_window_is_five_minutes_either_way():
    now = 1_764_057_600
    assert signing.timestamp_fresh(now - 300, now) and signing.timestamp_fresh(now + 300, now)
    assert not signing.timestamp_fresh(now - 301, now) and not signing.timestamp_fresh(now + 301, now)


def test_nonce_is_remembered_until_its_timestamp_stops_being_fresh():
    assert signing.nonce_expires_at(1000) == 1000 + signing.WINDOW_S


def _headers(**over: str) -> dict[str, str]:
    h = {
        "x-taskhall-merchant": "usr_01ABC",
        "x-taskhall-timestamp": "1764057600",
        "x-taskhall-nonce": "abcdefghijklmnop",
        "x-taskhall-signature": base64.b64encode(b"\x01" * 256).decode(),
    }
    h.update(over)
    return h


def test_well_formed_headers_parse():
    parsed = signing.parse_headers(_headers())
    assert parsed is not None
    assert (parsed.merchant_id, parsed.timestamp, parsed.nonce, parsed.signature) == (
        "usr_01ABC",
        1764057600,
        "abcdefghijklmnop",
        b"\x01" * 256,
    )


def test_malformed_headers_do_not_parse():
    for bad in (
        {"x-taskhall-merchant": "usr_"},
        {"x-taskhall-timestamp": "-5"},
        {"x-taskhall-timestamp": "1764057600.5"},
        {"x-taskhall-nonce": "a" * 15},
        {"x-taskhall-nonce": "a" * 65},
        {"x-taskhall-signature": "AAA"},  # not padded base64
        {"x-taskhall-signature": "A" * 1404},
    ):
        assert signing.parse_headers(_headers(**bad)) is None, bad
