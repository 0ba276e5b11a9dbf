"""Field encryption and blind indexes for sensitive data (ID numbers, licence numbers, payout accounts, phones).

`encrypt_field` is envelope encryption: a fresh AES-256 data key from KMS `GenerateDataKey` (the stage key,
`settings().kms_key_id`) encrypts the value with AES-256-GCM; only the KMS-encrypted copy of the data key is
kept beside the ciphertext. The owner and the field name are bound twice — as GCM associated data and as
the KMS encryption context — so a ciphertext copied onto another user or into another field does not decrypt.
`blind_index` is a keyed HMAC-SHA256 for equality lookups (uniqueness items) without storing the value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os

from chalicelib.adapters import aws, secrets
from chalicelib.config import settings

ENVELOPE_VERSION = 1


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _context(owner: str, field: str) -> dict[str, str]:
    return {"taskhall:owner": owner, "taskhall:field": field}


def _aad(owner: str, field: str) -> bytes:
    return f"taskhall:{field}:{owner}".encode()


def encrypt_field(plaintext: str, *, owner: str, field: str) -> str:
    """Encrypt `plaintext` for `owner` (a user id) and `field`; returns a compact JSON envelope to store."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    resp = aws.client("kms").generate_data_key(
        KeyId=settings().kms_key_id, KeySpec="AES_256", EncryptionContext=_context(owner, field)
    )
    nonce = os.urandom(12)
    sealed = AESGCM(resp["Plaintext"]).encrypt(nonce, plaintext.encode("utf-8"), _aad(owner, field))
    envelope = {"v": ENVELOPE_VERSION, "dk": _b64(resp["CiphertextBlob"]), "n": _b64(nonce), "c": _b64(sealed)}
    return json.dumps(envelope, separators=(",", ":"))


def decrypt_field(envelope: str, *, owner: str, field: str) -> str:
    """Reverse of `encrypt_field`; raises if the envelope was moved to another owner or field, or tampered with."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    data = json.loads(envelope)
    if data.get("v") != ENVELOPE_VERSION:
        raise ValueError("unknown envelope version")
    key = aws.client("kms").decrypt(
        CiphertextBlob=base64.b64decode(data["dk"]), EncryptionContext=_context(owner, field)
    )["Plaintext"]
    plain = AESGCM(key).decrypt(base64.b64decode(data["n"]), base64.b64decode(data["c"]), _aad(owner, field))
    return plain.decode("utf-8")


def blind_index(kind: str, value: str) -> str:
    """Keyed HMAC-SHA256 (hex) of a normalised value; `kind` separates domains (`phone`, `idnum`, `ip`, …)."""
    msg = f"{kind}\x00{value}".encode()
    return hmac.new(secrets.purpose_key("blind-index"), msg, hashlib.sha256).hexdigest()
