"""Merchant server request signing, as pure functions: the canonical string, the clock window, key checks, verify.

A merchant server signs `"<METHOD>\\n<path?query>\\n<timestamp>\\n<nonce>\\n<sha256 hex of body>"` with its RSA
private key (PKCS#1 v1.5, SHA-256) and sends the signature base64-encoded. No I/O here; `cryptography` is
imported on first use so that a cold start does not pay for it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.errors import Invalid

WINDOW_S = 300  # a timestamp may be at most this far from the server's clock, either way
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192  # verifying with a huge modulus costs the server, not the caller
MAX_PEM_CHARS = 4096

HEADER_MERCHANT = "x-taskhall-merchant"
HEADER_TIMESTAMP = "x-taskhall-timestamp"
HEADER_NONCE = "x-taskhall-nonce"
HEADER_SIGNATURE = "x-taskhall-signature"

_MERCHANT_RE = re.compile(r"^usr_[A-Za-z0-9]{1,60}$")
_TIMESTAMP_RE = re.compile(r"^[0-9]{1,12}$")
_NONCE_RE = re.compile(r"^[A-Za-z0-9_\-]{16,64}$")
_MAX_SIGNATURE_CHARS = 1400  # base64 of an 8192-bit signature is 1368 characters


@dataclass(frozen=True)
class SignedHeaders:
    merchant_id: str
    timestamp: int
    nonce: str
    signature: bytes


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def path_and_query(path: str, query_string: str) -> str:
    """What the second line holds: the path, and `?query` when there is one."""
    return f"{path}?{query_string}" if query_string else path


def canonical(method: str, path_query: str, timestamp: int | str, nonce: str, body: bytes) -> bytes:
    """The exact bytes a merchant signs."""
    return f"{method.upper()}\n{path_query}\n{timestamp}\n{nonce}\n{body_digest(body)}".encode()


def parse_headers(headers: dict[str, str]) -> SignedHeaders | None:
    """The four signing headers (lower-cased names), or None when any is missing or malformed."""
    merchant = headers.get(HEADER_MERCHANT, "")
    stamp = headers.get(HEADER_TIMESTAMP, "")
    nonce = headers.get(HEADER_NONCE, "")
    sig = headers.get(HEADER_SIGNATURE, "")
    if not (_MERCHANT_RE.match(merchant) and _TIMESTAMP_RE.match(stamp) and _NONCE_RE.match(nonce)):
        return None
    if not sig or len(sig) > _MAX_SIGNATURE_CHARS:
        return None
    try:
        raw = base64.b64decode(sig, validate=True)
    except (binascii.Error, ValueError):
        return None
    return SignedHeaders(merchant_id=merchant, timestamp=int(stamp), nonce=nonce, signature=raw)


def timestamp_fresh(timestamp: int, now: int) -> bool:
    return abs(now - timestamp) <= WINDOW_S


def nonce_expires_at(timestamp: int) -> int:
    """When the nonce may be forgotten: after this no request carrying its timestamp is fresh any more."""
    return timestamp + WINDOW_S


def _load_rsa(pem: str) -> Any:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError):
        return None
    return key if isinstance(key, rsa.RSAPublicKey) else None


def check_public_key(pem: str) -> tuple[str, int]:
    """Validate a merchant's PEM public key: RSA, 2048–8192 bits. Returns (fingerprint, bits) or raises Invalid."""
    if len(pem) > MAX_PEM_CHARS:
        raise Invalid({"public_key_pem": "公钥过长，请提交 PEM 格式的 RSA 公钥"})
    key = _load_rsa(pem.strip())
    if key is None:
        raise Invalid({"public_key_pem": "不是有效的 PEM 格式 RSA 公钥（-----BEGIN PUBLIC KEY-----）"})
    bits = int(key.key_size)
    if not MIN_RSA_BITS <= bits <= MAX_RSA_BITS:
        raise Invalid({"public_key_pem": f"RSA 密钥长度应为 {MIN_RSA_BITS}–{MAX_RSA_BITS} 位，当前为 {bits} 位"})
    return fingerprint(key), bits


def fingerprint(key: Any) -> str:
    """`SHA256:<hex>` of the key's DER SubjectPublicKeyInfo (`openssl pkey -pubin -outform DER | sha256sum`)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + hashlib.sha256(der).hexdigest()


def verify(pem: str, message: bytes, signature: bytes) -> bool:
    """RSA-SHA256 PKCS#1 v1.5 over `message` with the stored public key."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    key = _load_rsa(pem)
    if key is None:
        return False
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
