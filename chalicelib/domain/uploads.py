"""What may be uploaded for which purpose: content types, size caps, and the key layout that scopes files to users."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.domain.errors import Invalid

MB = 1024 * 1024
IMAGE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
PDF = {"application/pdf": "pdf"}
VIDEO = {"video/mp4": "mp4"}


@dataclass(frozen=True)
class UploadRule:
    types: dict[str, str]  # content type → file extension
    max_bytes: dict[str, int]  # content type → cap


def _rule(*groups: tuple[dict[str, str], int]) -> UploadRule:
    types: dict[str, str] = {}
    caps: dict[str, int] = {}
    for group, cap in groups:
        types.update(group)
        caps.update(dict.fromkeys(group, cap))
    return UploadRule(types, caps)


RULES: dict[str, UploadRule] = {
    "proof": _rule((IMAGE_TYPES, 10 * MB)),
    "task_image": _rule((IMAGE_TYPES, 10 * MB)),
    "license": _rule((IMAGE_TYPES, 10 * MB), (PDF, 10 * MB)),
    "evidence": _rule((IMAGE_TYPES, 10 * MB), (PDF, 10 * MB), (VIDEO, 50 * MB)),
}
PURPOSES = tuple(RULES)
_KEY_RE = re.compile(r"^uploads/(usr_[0-9A-Z]{26})/([a-z_]+)/([0-9A-Z]{26})\.([a-z0-9]+)$")


def check_upload(purpose: str, content_type: str, size_bytes: int) -> str:
    """Validate a planned upload; return the file extension for its key."""
    rule = RULES.get(purpose)
    if rule is None:
        raise Invalid({"purpose": "取值应为 " + "、".join(PURPOSES) + " 之一"})
    ctype = content_type.strip().lower()
    if ctype not in rule.types:
        raise Invalid({"content_type": "此用途只接受以下文件类型：" + "、".join(rule.types)})
    cap = rule.max_bytes[ctype]
    if size_bytes > cap:
        raise Invalid({"size_bytes": f"文件不能超过 {cap // MB} MB"})
    return rule.types[ctype]


def object_key(user_id: str, purpose: str, ulid: str, ext: str) -> str:
    return f"uploads/{user_id}/{purpose}/{ulid}.{ext}"


def key_owner(key: str, purposes: tuple[str, ...] | list[str]) -> str | None:
    """The user a key is scoped to when it has our layout and one of `purposes`; otherwise None."""
    m = _KEY_RE.match(key or "")
    if not m or m.group(2) not in purposes:
        return None
    rule = RULES.get(m.group(2))
    if rule is None or m.group(4) not in rule.types.values():
        return None
    return m.group(1)
