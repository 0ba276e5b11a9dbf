"""Accounts for tests: signed-in workers, merchants (optionally approved) and desk staff, in a few calls.

`make()` writes the account through the service layer (no SMS round trip, no per-IP limits), which is what
most feature tests want; `register_via_api()` goes through `/v1/auth/otp` + `/v1/auth/register` like an app.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.roles import Caller

PASSWORD = "Taskhall2026ok"
_seq = itertools.count(1)


@dataclass
class Account:
    id: str
    role: str
    phone: str
    password: str
    token: str
    refresh_token: str

    @property
    def caller(self) -> Caller:
        return Caller(id=self.id, role=self.role)


def new_phone() -> str:
    """A fresh, valid mainland mobile number (unique within the run)."""
    return f"1{random.choice('3456789')}{random.randrange(10**4):04d}{next(_seq) % 10**5:05d}"


class AccountFactory:
    def __init__(self, api: Any) -> None:
        self.api = api

    def make(self, role: str = "worker", *, phone: str | None = None, password: str = PASSWORD) -> Account:
        from chalicelib.services import auth, sessions

        phone = phone or new_phone()
        if role in ("worker", "merchant"):
            user = auth.create_account(phone, password, role)
        else:
            user = auth.create_staff(phone, password, role)
        tokens = sessions.start_session(user)
        return Account(user.user_id, role, phone, password, tokens.access_token, tokens.refresh_token)

    def staff(self, role: str = "admin") -> Account:
        return self.make(role)

    def register_via_api(
        self, role: str = "worker", *, phone: str | None = None, password: str = PASSWORD, **extra: Any
    ) -> Account:
        phone = phone or new_phone()
        sent = self.api.post("/v1/auth/otp", {"phone": phone, "purpose": "register"})
        assert sent.status == 200, sent.body
        body = {"phone": phone, "password": password, "otp": sent.json["dev_code"], "role": role, **extra}
        reply = self.api.post("/v1/auth/register", body)
        assert reply.status == 201, reply.body
        data = reply.json
        return Account(data["user"]["id"], role, phone, password, data["access_token"], data["refresh_token"])

    def upload_license(self, merchant: Account) -> str:
        """Put a licence image in the merchant's upload prefix, as the app would after `/v1/uploads`."""
        from chalicelib.adapters import aws
        from chalicelib.config import settings

        ticket = self.api.post(
            "/v1/uploads",
            {"purpose": "license", "content_type": "image/png", "size_bytes": 1024},
            token=merchant.token,
        )
        assert ticket.status == 200, ticket.body
        key = ticket.json["key"]
        aws.client("s3").put_object(Bucket=settings().bucket_name, Key=key, Body=b"\x89PNG" + b"0" * 100)
        return key

    def pending_merchant(self, *, license_no: str = "91350100M000100Y43") -> Account:
        merchant = self.make("merchant")
        key = self.upload_license(merchant)
        reply = self.api.post(
            "/v1/merchant/verification",
            {
                "company_name": "福州测试科技有限公司",
                "license_no": license_no,
                "shop_url": "https://shop.example.cn/m1",
                "license_image_key": key,
            },
            token=merchant.token,
        )
        assert reply.status == 201, reply.body
        return merchant

    def approved_merchant(self) -> Account:
        from chalicelib.services import merchants

        merchant = self.pending_merchant()
        merchants.review(self.staff("reviewer").caller, merchant.id, True, reason=None, request_id=None)
        return merchant
