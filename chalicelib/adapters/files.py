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


def put_text(key: str, text: str, content_type: str) -> None:
    """Write a generated text file (reports) to the bucket, encoded as UTF-8."""
    aws.client("s3").put_object(
        Bucket=settings().bucket_name, Key=key, Body=text.encode("utf-8"), ContentType=content_type
    )


def presigned_get(key: str, expires_s: int, filename: str | None = None) -> str:
    """A time-limited download link for one object; `filename` names the saved file."""
    params: dict[str, Any] = {"Bucket": settings().bucket_name, "Key": key}
    if filename:
        params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
    url: str = aws.client("s3").generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)
    return url
