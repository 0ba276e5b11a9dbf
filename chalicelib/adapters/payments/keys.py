"""RSA key loading and SHA256withRSA (PKCS#1 v1.5) signing/verification shared by the payment adapters."""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from chalicelib.adapters.payments.base import ProviderConfigError


def _der(text: str) -> bytes:
    # Provider consoles hand out keys as bare base64 without PEM armour; accept both forms.
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProviderConfigError("key is neither PEM nor base64 DER") from exc


# Loading checks the RSA private key's consistency, which costs tens of milliseconds; keys are immutable.
@lru_cache(maxsize=16)
def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """PKCS#8 or PKCS#1, PEM or bare base64."""
    key: object
    try:
        if "-----BEGIN" in text:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = serialization.load_der_private_key(_der(text), password=None)
    except ValueError as exc:
        raise ProviderConfigError("unreadable RSA private key") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ProviderConfigError("private key is not RSA")
    return key


@lru_cache(maxsize=32)
def load_public_key(text: str) -> rsa.RSAPublicKey:
    """SubjectPublicKeyInfo PEM, PKCS#1 PEM, an X.509 certificate PEM, or bare base64 SubjectPublicKeyInfo."""
    key: object
    try:
        if "-----BEGIN CERTIFICATE-----" in text:
            key = x509.load_pem_x509_certificate(text.encode()).public_key()
        elif "-----BEGIN" in text:
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(_der(text))
    except ValueError as exc:
        raise ProviderConfigError("unreadable RSA public key") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise ProviderConfigError("public key is not RSA")
    return key


def rsa_sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    """Base64 SHA256withRSA (PKCS#1 v1.5), the signature both Alipay RSA2 and WeChat Pay v3 use."""
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def rsa_verify(key: rsa.RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def public_pem(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def generate_key_pair() -> tuple[str, str]:
    """A fresh 2048-bit RSA pair as (private PKCS#8 PEM, public SPKI PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return private_pem(key), public_pem(key.public_key())
