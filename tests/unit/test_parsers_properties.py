"""Properties of the parsers that read what strangers send: anything at all is either parsed or refused with
our own error, never a crash; what we produce parses back; a single altered character is refused.

Covered here: ID numbers and yuan amounts on arbitrary text (their valid-input properties live in
test_identity_rules.py and payments/test_amounts.py), sealed pagination cursors, webhook signatures and
merchant request signing.
"""

from __future__ import annotations

import base64
import json
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from unittest import mock

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chalicelib.adapters import secrets
from chalicelib.adapters.payments.amounts import InvalidAmount, fen_to_yuan, yuan_to_fen
from chalicelib.domain import identity as ident
from chalicelib.domain import signing
from chalicelib.domain import webhooks as W
from chalicelib.domain.errors import BadRequest, Invalid
from chalicelib.store import cursor

ANY_TEXT = st.text(max_size=40) | st.text(alphabet="0123456789Xx.-+ ", max_size=22)

# ---------------------------------------------------------------- ID numbers and amounts on anything


@given(ANY_TEXT)
def test_any_text_is_an_id_number_or_an_invalid_error(raw):
    try:
        parsed = ident.parse_id_number(raw)
    except Invalid as err:
        assert err.details["fields"]["id_number"]
        return
    assert len(parsed.value) == 18 and parsed.value[:17].isdigit() and parsed.value == parsed.value.upper()


@given(ANY_TEXT)
def test_any_text_is_an_exact_yuan_amount_or_invalid(raw):
    try:
        fen = yuan_to_fen(raw)
    except InvalidAmount:
        return
    assert fen == Decimal(raw) * 100 and fen >= 0
    assert yuan_to_fen(fen_to_yuan(fen)) == fen


# ---------------------------------------------------------------- cursors


@contextmanager
def cursor_key(key: bytes = b"k" * 32):
    with mock.patch.object(secrets, "purpose_key", lambda label: key):
        yield


KEY_VALUES = st.one_of(
    st.fixed_dictionaries({"S": st.text(min_size=1, max_size=30)}),
    st.fixed_dictionaries({"N": st.integers(-(10**12), 10**12).map(str)}),
)
KEYS = st.dictionaries(st.sampled_from(["PK", "SK", "GSI1PK", "GSI1SK"]), KEY_VALUES, min_size=1, max_size=4)
SCOPES = st.builds(
    lambda listing, user, status: cursor.scope(listing, user=user, status=status),
    st.sampled_from(["me.claims", "wallet.entries", "hall"]),
    st.text(min_size=1, max_size=12),
    st.none() | st.sampled_from(["claimed", "submitted"]),
)


@given(KEYS, SCOPES)
def test_a_cursor_carries_its_key_back_within_its_scope(key, scope):
    with cursor_key():
        sealed = cursor.encode(key, scope)
        assert sealed is not None and len(sealed) <= cursor.MAX_CURSOR_CHARS
        assert cursor.decode(sealed, scope) == key
        assert json.dumps(key) not in sealed  # opaque: no key text readable


@given(KEYS, SCOPES, SCOPES)
def test_a_cursor_is_refused_in_any_other_scope(key, scope, other):
    assume(scope != other)
    with cursor_key():
        sealed = cursor.encode(key, scope)
        with pytest.raises(BadRequest) as refused:
            cursor.decode(sealed, other)
    assert refused.value.code == "INVALID_CURSOR"


B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


# What is drawn must not depend on the sealed text, which is random (a fresh nonce per cursor): Hypothesis replays
# a draw sequence and refuses one whose shape changed. So the position and the replacement are drawn blind and
# mapped onto this cursor's text.
@given(KEYS, SCOPES, st.integers(min_value=0), st.integers(1, len(B64URL) - 1))
def test_any_altered_character_of_a_cursor_is_refused(key, scope, position, shift):
    with cursor_key():
        sealed = cursor.encode(key, scope)
        at = position % len(sealed)
        swap = B64URL[(B64URL.index(sealed[at]) + shift) % len(B64URL)]  # never the character that was there
        forged = sealed[:at] + swap + sealed[at + 1 :]
        # The last character may carry padding bits base64 ignores; a forgery that decodes to the same bytes is
        # the same cursor, not a forgery.
        assume(_b64(forged) != _b64(sealed))
        with pytest.raises(BadRequest):
            cursor.decode(forged, scope)


def _b64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return None


@given(st.text(max_size=300) | st.binary(max_size=200).map(lambda b: base64.urlsafe_b64encode(b).decode()))
def test_any_text_as_a_cursor_is_a_400_never_a_crash(text):
    with cursor_key():
        try:
            got = cursor.decode(text, "hall?{}")
        except BadRequest as err:
            assert err.code == "INVALID_CURSOR"
            return
    assert got is None and not text


def test_a_cursor_sealed_under_another_stage_key_is_refused():
    with cursor_key(b"a" * 32):
        sealed = cursor.encode({"PK": {"S": "USER#1"}}, "hall?{}")
    with cursor_key(b"b" * 32), pytest.raises(BadRequest):
        cursor.decode(sealed, "hall?{}")


# ---------------------------------------------------------------- webhook signatures (what merchants verify)

SECRETS = st.text(alphabet="abcdef0123456789", min_size=16, max_size=64)
TIMES = st.integers(1_600_000_000, 2_000_000_000)


@given(SECRETS, TIMES, st.binary(max_size=500), st.integers(-W.SIGNATURE_TOLERANCE_S, W.SIGNATURE_TOLERANCE_S))
def test_a_webhook_signature_verifies_within_the_tolerance(secret, t, body, skew):
    assert W.verify(secret, W.signature_header(secret, t, body), body, t + skew)


@given(SECRETS, SECRETS, TIMES, st.binary(max_size=200), st.binary(max_size=200))
def test_a_webhook_signature_fails_for_another_secret_or_body(secret, other_secret, t, body, other_body):
    header = W.signature_header(secret, t, body)
    if other_secret != secret:
        assert not W.verify(other_secret, header, body, t)
    if other_body != body:
        assert not W.verify(secret, header, other_body, t)


@given(SECRETS, TIMES, st.binary(max_size=100), st.integers(W.SIGNATURE_TOLERANCE_S + 1, 10**6))
def test_a_stale_or_future_webhook_signature_fails(secret, t, body, skew):
    header = W.signature_header(secret, t, body)
    assert not W.verify(secret, header, body, t + skew)
    assert not W.verify(secret, header, body, t - skew)


@given(st.text(max_size=200), st.binary(max_size=50), TIMES)
def test_any_header_text_is_a_verdict_never_a_crash(header, body, now):
    assert W.verify("s" * 32, header, body, now) in (True, False)


# ---------------------------------------------------------------- merchant request signing


@lru_cache(maxsize=1)
def _rsa_pair() -> tuple[object, str]:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    return private, pem


def _sign(private: object, message: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return private.sign(message, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[attr-defined]


METHODS = st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE"])
PATHS = st.from_regex(r"\A/v1(/[a-z0-9_]{1,12}){1,4}\Z")
QUERIES = st.from_regex(r"\A([a-z_]{1,8}=[a-z0-9]{0,8}(&[a-z_]{1,8}=[a-z0-9]{0,8}){0,3})?\Z")
NONCES = st.from_regex(r"\A[A-Za-z0-9_\-]{16,64}\Z")


@settings(max_examples=40)
@given(METHODS, PATHS, QUERIES, TIMES, NONCES, st.binary(max_size=300))
def test_a_signed_merchant_request_verifies_and_parses_back(method, path, query, t, nonce, body):
    private, pem = _rsa_pair()
    message = signing.canonical(method, signing.path_and_query(path, query), t, nonce, body)
    sig = _sign(private, message)
    parsed = signing.parse_headers(
        {
            signing.HEADER_MERCHANT: "usr_01JABCDEF",
            signing.HEADER_TIMESTAMP: str(t),
            signing.HEADER_NONCE: nonce,
            signing.HEADER_SIGNATURE: base64.b64encode(sig).decode(),
        }
    )
    assert parsed is not None and (parsed.timestamp, parsed.nonce, parsed.signature) == (t, nonce, sig)
    assert signing.verify(pem, message, sig)


@settings(max_examples=40)
@given(METHODS, PATHS, TIMES, NONCES, st.binary(max_size=100), st.binary(min_size=1, max_size=100))
def test_a_merchant_signature_fails_for_any_other_body_or_line(method, path, t, nonce, body, other_body):
    private, pem = _rsa_pair()
    sig = _sign(private, signing.canonical(method, path, t, nonce, body))
    if other_body != body:
        assert not signing.verify(pem, signing.canonical(method, path, t, nonce, other_body), sig)
    assert not signing.verify(pem, signing.canonical(method, path + "/x", t, nonce, body), sig)
    assert not signing.verify(pem, signing.canonical(method, path, t + 1, nonce, body), sig)
    assert not signing.verify(pem, signing.canonical(method, path, t, nonce[::-1] + "z", body), sig)


@given(
    st.dictionaries(
        st.sampled_from(
            [signing.HEADER_MERCHANT, signing.HEADER_TIMESTAMP, signing.HEADER_NONCE, signing.HEADER_SIGNATURE]
        ),
        st.text(max_size=80),
    )
)
def test_any_signing_headers_parse_or_are_refused_never_crash(headers):
    parsed = signing.parse_headers(headers)
    if parsed is not None:
        assert parsed.merchant_id.startswith("usr_") and parsed.timestamp >= 0 and len(parsed.nonce) >= 16


@given(st.text(max_size=300), st.binary(max_size=64))
def test_any_text_as_a_public_key_is_refused_or_a_verdict(pem, sig):
    assert signing.verify(pem, b"message", sig) in (True, False)
