"""The files bucket: presigned POST policies for uploads straight from clients, and existence checks."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters import aws
from chalicelib.config import settings


def presigned_post(key: str, content_type: str, max_bytes: int, expires_s: int) -> dict[str, Any]:
    """A POST policy that S3 enforces: exactly this key, exactly this Content-Type, 1..max_bytes bytes."""
    return aws.client("s3").generate_presigned_post(
        Bucket=settings().bucket_name,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[["content-length-range", 1, max_bytes], {"Content-Type": content_type}],
        ExpiresIn=expires_s,
    )


def head(key: str) -> dict[str, Any] | None:
    """The object's metadata, or None when it does not exist."""
    try:
        return aws.client("s3").head_object(Bucket=settings().bucket_name, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
