"""Uploads: presigned S3 POSTs scoped to the caller, and the ownership check later features use on file keys.

Keys are `uploads/<user id>/<purpose>/<ulid>.<ext>`. The POST policy pins the exact key, the exact
Content-Type and a byte range of 1..size_bytes (the size the client declared, itself capped per purpose),
so S3 refuses anything else. A key a client later quotes (proof images, a licence, evidence) is accepted
only through `owned_object_exists`: it must be in the caller's own prefix, for an allowed purpose, and exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.adapters import files, ids
from chalicelib.domain.errors import Forbidden
from chalicelib.domain.roles import Caller
from chalicelib.domain.uploads import check_upload, key_owner, object_key

EXPIRES_S = 600
# Which roles may upload for which purpose (evidence: both sides of a dispute).
PURPOSE_ROLES = {
    "proof": ("worker",),
    "task_image": ("merchant",),
    "license": ("merchant",),
    "evidence": ("worker", "merchant"),
}


@dataclass(frozen=True)
class UploadTicket:
    key: str
    url: str
    fields: dict[str, Any]
    expires_in: int


def create_upload(caller: Caller, purpose: str, content_type: str, size_bytes: int) -> UploadTicket:
    ext = check_upload(purpose, content_type, size_bytes)
    if caller.role not in PURPOSE_ROLES.get(purpose, ()):
        raise Forbidden("UPLOAD_PURPOSE_FORBIDDEN", "当前账号不能上传此用途的文件")
    ctype = content_type.strip().lower()
    key = object_key(caller.id, purpose, ids.ulid(), ext)
    post = files.presigned_post(key, ctype, size_bytes, EXPIRES_S)
    return UploadTicket(key=key, url=post["url"], fields=dict(post["fields"]), expires_in=EXPIRES_S)


def owned_object_exists(user_id: str, key: str, purposes: tuple[str, ...] | list[str]) -> bool:
    """True when `key` is in `user_id`'s upload prefix for one of `purposes` and the object was uploaded."""
    if key_owner(key, purposes) != user_id:
        return False
    meta = files.head(key)
    return meta is not None and int(meta.get("ContentLength", 0)) > 0
