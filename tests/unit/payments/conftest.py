"""Key material for the payment adapter tests: generated once per session (2048-bit RSA is not free)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.unit.payments import helpers as h


@dataclass(frozen=True)
class Keys:
    app: rsa.RSAPrivateKey  # our Alipay app key
    alipay: rsa.RSAPrivateKey  # Alipay's signing key
    merchant: rsa.RSAPrivateKey  # our WeChat Pay merchant key
    platform: rsa.RSAPrivateKey  # WeChat Pay's platform key
    sandbox: rsa.RSAPrivateKey  # the sandbox provider's key
    ca: rsa.RSAPrivateKey  # issues the test certificates
    other: rsa.RSAPrivateKey  # a forger's key


@pytest.fixture(scope="session")
def keys() -> Keys:
    def gen() -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    return Keys(app=gen(), alipay=gen(), merchant=gen(), platform=gen(), sandbox=gen(), ca=gen(), other=gen())


@dataclass(frozen=True)
class AlipayCerts:
    app_cert: str
    alipay_cert: str
    root_bundle: str
    root_cert: str


@pytest.fixture(scope="session")
def alipay_certs(keys: Keys) -> AlipayCerts:
    root_name = h.name("Ant Financial Certification Authority R1")
    class2 = h.name("Ant Financial Certification Authority Class 2 R1")
    root = h.make_cert(keys.ca, keys.ca, subject=root_name, issuer=root_name, serial=0x2D3E4F)
    app = h.make_cert(keys.app, keys.ca, subject=h.name(h.ALIPAY_APP_ID, "Alipay"), issuer=class2, serial=1001)
    alipay = h.make_cert(
        keys.alipay, keys.ca, subject=h.name("支付宝(中国)网络技术有限公司"), issuer=class2, serial=2002
    )
    root2_name = h.name("Ant Financial Certification Authority R2")
    root2 = h.make_cert(keys.ca, keys.ca, subject=root2_name, issuer=root2_name, serial=0x5E6F70)
    # The real bundle also carries a national-algorithm root; an EC root plays it (skipped by SN computation).
    bundle = root + "\n" + h.ec_root_cert() + "\n" + root2
    return AlipayCerts(app_cert=app, alipay_cert=alipay, root_bundle=bundle, root_cert=root)


@pytest.fixture(scope="session")
def platform_cert(keys: Keys) -> str:
    subject = h.name("Tenpay.com Root CA", "Tenpay.com CA Center", "Tenpay.com")
    return h.make_cert(keys.platform, keys.platform, subject=subject, issuer=subject, serial=h.PLATFORM_SERIAL_INT)
