"""Stage settings read from the environment (set per stage in .chalice/config.json or by the local stack).

Read lazily and cached, so importing the app costs nothing and tests can set the environment first.
Resource names follow one convention, `taskhall-<stage>-<thing>`, shared with `infra/` and the local stack.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

LOCAL_STAGES = frozenset({"local", "test"})


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table_name: str
    table_stream_arn: str
    bucket_name: str
    kms_key_id: str
    secrets_id: str
    webhooks_queue: str
    jobs_queue: str
    clock_file: str | None
    # Business knobs that differ per stage (amounts in fen).
    deposit_min_fen: int
    deposit_max_fen: int
    withdraw_min_fen: int
    withdraw_daily_count: int
    withdraw_daily_fen: int
    guarantee_min_fen: int
    guarantee_max_fen: int
    # Growth (docs/decisions/0120): platform-funded amounts, from `expense:promo`.
    coupon_fen: int = 100  # new-worker coupon, locked until the first accepted task
    first_task_bonus_bps: int = 1_000  # first accepted task: +10% of its reward
    referral_reward_fen: int = 500  # to inviter and invitee each, at the invitee's first accepted task
    referral_daily_cap: int = 20  # rewarded invitees per inviter per Asia/Shanghai day
    invite_link_base: str = "https://taskhall.cn/i/"
    # How long a DynamoDB call may wait for its answer. DynamoDB answers in milliseconds; the local stack's moto
    # server runs one request at a time, so under a 200-request race a call queues for tens of seconds and a
    # short timeout would resend transactions that already committed.
    ddb_read_timeout_s: int = 10

    @property
    def is_local(self) -> bool:
        """True for the local stack and the test suite: sandbox routes exist, dev codes are returned."""
        return self.stage in LOCAL_STAGES

    @property
    def prefix(self) -> str:
        return f"taskhall-{self.stage}"


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@lru_cache(maxsize=1)
def settings() -> Settings:
    stage = os.environ.get("STAGE", "local")
    prefix = f"taskhall-{stage}"
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "cn-north-1"
    return Settings(
        stage=stage,
        region=region,
        table_name=os.environ.get("TABLE_NAME", f"{prefix}-main"),
        ddb_read_timeout_s=_int("DDB_READ_TIMEOUT_S", 120 if stage in LOCAL_STAGES else 10),
        table_stream_arn=os.environ.get("TABLE_STREAM_ARN", ""),
        bucket_name=os.environ.get("BUCKET_NAME", f"{prefix}-files"),
        kms_key_id=os.environ.get("KMS_KEY_ID", f"alias/{prefix}"),
        secrets_id=os.environ.get("SECRETS_ID", f"{prefix}/app-secrets"),
        webhooks_queue=os.environ.get("WEBHOOKS_QUEUE", f"{prefix}-webhooks"),
        jobs_queue=os.environ.get("JOBS_QUEUE", f"{prefix}-jobs"),
        clock_file=os.environ.get("CLOCK_FILE") or None,
        deposit_min_fen=_int("DEPOSIT_MIN_FEN", 100),
        deposit_max_fen=_int("DEPOSIT_MAX_FEN", 5_000_000),
        withdraw_min_fen=_int("WITHDRAW_MIN_FEN", 100),
        withdraw_daily_count=_int("WITHDRAW_DAILY_COUNT", 5),
        withdraw_daily_fen=_int("WITHDRAW_DAILY_FEN", 500_000),
        guarantee_min_fen=_int("GUARANTEE_MIN_FEN", 50_000),
        guarantee_max_fen=_int("GUARANTEE_MAX_FEN", 200_000),
        coupon_fen=_int("COUPON_FEN", 100),
        first_task_bonus_bps=_int("FIRST_TASK_BONUS_BPS", 1_000),
        referral_reward_fen=_int("REFERRAL_REWARD_FEN", 500),
        referral_daily_cap=_int("REFERRAL_DAILY_CAP", 20),
        invite_link_base=os.environ.get("INVITE_LINK_BASE", "https://taskhall.cn/i/"),
    )


def reset_settings() -> None:
    """Forget cached settings (tests change the environment between cases)."""
    settings.cache_clear()
