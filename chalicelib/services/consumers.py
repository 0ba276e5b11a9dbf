"""Imports every module that registers stream consumers or job handlers (see `services/events.py`)."""

from __future__ import annotations

from chalicelib.services import (  # noqa: F401 - imported for their registrations
    analytics,  # the desk's activity and heatmap rollups
    completion,  # tasks complete when every slot is settled
    contest,  # weekly contest scores and winners' notifications
    credit,  # credit score from claim outcomes
    disputes,  # dispute notifications; a closed case's own credit change
    finance,  # finance rollups from transfers
    hall,  # task hall entries follow free slots
    membership,  # merchants hear when their membership ends
    notifications,  # money notifications
    promotions,  # new-worker coupon, first-task bonus
    referrals,  # referral rewards at the invitee's first accepted task
    risk,  # risk rules: account clusters, proof checks, the rejection breaker, withdrawal patterns
    webhooks,  # merchant webhook fan-out, delivery jobs, disabled-endpoint notifications
)
