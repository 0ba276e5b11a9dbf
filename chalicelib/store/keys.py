"""Key builders: the only place that knows key shapes. Services call these, never format keys themselves."""

from __future__ import annotations


def health() -> tuple[str, str]:
    return ("SYS#HEALTH", "SYS#HEALTH")


def idempotency(hashed_key: str) -> tuple[str, str]:
    return (f"IDEM#{hashed_key}", "IDEM")


def rate_bucket(name: str, subject: str, window: int) -> tuple[str, str]:
    return (f"RATE#{name}#{subject}", f"W#{window}")


def schedule_state(job: str) -> tuple[str, str]:
    return ("SYS#SCHEDULE", job)


# ---- ledger


def account(account_id: str) -> tuple[str, str]:
    return (f"ACCT#{account_id}", "BAL")


def transfer(transfer_id: str) -> tuple[str, str]:
    return (f"XFER#{transfer_id}", "XFER")


def entry(account_id: str, at_iso: str, transfer_id: str) -> tuple[str, str]:
    return (f"ACCT#{account_id}", f"E#{at_iso}#{transfer_id}")


def entry_prefix(account_id: str) -> tuple[str, str]:
    return (f"ACCT#{account_id}", "E#")


def entry_bound(account_id: str, at_iso: str) -> tuple[str, str]:
    return (f"ACCT#{account_id}", f"E#{at_iso}")


# ---- identity (users, uniqueness items, sessions, OTPs, merchants, sightings, audit)


def user(user_id: str) -> tuple[str, str]:
    return (f"USER#{user_id}", "PROFILE")


def users_by_role(role: str, created_iso: str, user_id: str) -> tuple[str, str]:
    """GSI1 of a user: the desk's user lists by role, newest last."""
    return (f"USERS#{role}", f"{created_iso}#{user_id}")


def phone_claim(phone_hash: str) -> tuple[str, str]:
    return (f"PHONE#{phone_hash}", f"PHONE#{phone_hash}")


def idnum_claim(idnum_hash: str) -> tuple[str, str]:
    return (f"IDNUM#{idnum_hash}", f"IDNUM#{idnum_hash}")


def invite_code(code: str) -> tuple[str, str]:
    return (f"INVITE#{code}", f"INVITE#{code}")


def session(user_id: str, family: str) -> tuple[str, str]:
    return (f"USER#{user_id}", f"SESSION#{family}")


def session_prefix(user_id: str) -> tuple[str, str]:
    return (f"USER#{user_id}", "SESSION#")


def otp(phone_hash: str, purpose: str) -> tuple[str, str]:
    return (f"OTP#{phone_hash}", f"OTP#{purpose}")


def merchant_qualification(user_id: str) -> tuple[str, str]:
    return (f"USER#{user_id}", "MERCHANT")


def merchant_review(status: str, submitted_iso: str, user_id: str) -> tuple[str, str]:
    """GSI1 of a merchant qualification: the review queue by status, oldest first."""
    return (f"MERCHANT_REVIEW#{status}", f"{submitted_iso}#{user_id}")


def device_sighting(device_hash: str, user_id: str) -> tuple[str, str]:
    return (f"DEV#{device_hash}", f"USER#{user_id}")


def ip_sighting(ip_hash: str, user_id: str) -> tuple[str, str]:
    return (f"IP#{ip_hash}", f"USER#{user_id}")


def audit(at_iso: str, audit_id: str) -> tuple[str, str]:
    """Audit entries partitioned by UTC month (`2026-11-25T…` → `AUDIT#202611`)."""
    return (f"AUDIT#{at_iso[:4]}{at_iso[5:7]}", f"{at_iso}#{audit_id}")


def rate_block(name: str, subject: str) -> tuple[str, str]:
    return (f"RATE#{name}#{subject}", "BLOCK")


def device_sightings(device_hash: str) -> str:
    """The partition listing every user seen on one device."""
    return f"DEV#{device_hash}"


def ip_sightings(ip_hash: str) -> str:
    return f"IP#{ip_hash}"


def audit_month(yyyymm: str) -> str:
    return f"AUDIT#{yyyymm}"


def merchant_review_queue(status: str) -> str:
    return f"MERCHANT_REVIEW#{status}"


# ---- deposits, withdrawals, risk flags


def deposit(deposit_id: str) -> tuple[str, str]:
    return (f"DEP#{deposit_id}", "META")


def user_deposits(user_id: str) -> str:
    return f"USER#{user_id}#DEPOSITS"


def withdrawal(withdrawal_id: str) -> tuple[str, str]:
    return (f"WDR#{withdrawal_id}", "META")


def user_withdrawals(user_id: str) -> str:
    return f"USER#{user_id}#WITHDRAWALS"


def withdrawals_pending() -> str:
    """Sparse index partition of withdrawals waiting for the payout provider (the poll reads it)."""
    return "WITHDRAWALS#PENDING"


def withdrawal_day(user_id: str, day: str) -> tuple[str, str]:
    """Per-user daily withdrawal counter (`day` is the Asia/Shanghai date)."""
    return (f"USER#{user_id}", f"WDRDAY#{day}")


def sandbox_payout(withdrawal_id: str) -> tuple[str, str]:
    return (f"SBXPAY#{withdrawal_id}", "META")


def flag(flag_id: str) -> tuple[str, str]:
    return (f"FLAG#{flag_id}", "META")


def flags_by_status(status: str) -> str:
    return f"FLAGS#{status}"


def payout_account_claim(account_hash: str) -> tuple[str, str]:
    return (f"PAYACCT#{account_hash}", "PAYACCT")


def guarantee_hold(merchant_id: str) -> tuple[str, str]:
    return (f"USER#{merchant_id}", "GUARANTEE_HOLD")


def merchant_tasks(merchant_id: str) -> str:
    """GSI1 partition of a merchant's tasks, sorted `<status>#<created>#<id>`."""
    return f"MERCHANT#{merchant_id}#TASKS"


def party_open_disputes(user_id: str) -> str:
    """GSI1 partition of the open disputes a user is party to."""
    return f"PARTY#{user_id}#DISPUTES#open"


# ---- marketplace


def task(task_id: str) -> tuple[str, str]:
    return (f"TASK#{task_id}", "META")


def claim(task_id: str, claim_id: str) -> tuple[str, str]:
    return (f"TASK#{task_id}", f"CLAIM#{claim_id}")


def claim_guard(task_id: str, worker_id: str) -> tuple[str, str]:
    return (f"TASK#{task_id}", f"WORKER#{worker_id}")


def task_claims_prefix(task_id: str) -> tuple[str, str]:
    return (f"TASK#{task_id}", "CLAIM#")


def task_slot_shard(task_id: str, shard: int) -> tuple[str, str]:
    """A hot task's slot shard: beside the task item, so one Query (`META` prefix) reads the task and its shards."""
    return (f"TASK#{task_id}", f"META#SLOT#{shard:02d}")


def task_with_shards_prefix(task_id: str) -> tuple[str, str]:
    return (f"TASK#{task_id}", "META")


def worker_claims(worker_id: str) -> str:
    return f"WORKER#{worker_id}#CLAIMS"


def task_review_queue() -> str:
    return "REVIEW#TASK"


def due_bucket(hour: str) -> str:
    """Deadline index partition for one UTC hour (`yyyymmddhh`)."""
    return f"DUE#{hour}"


def claim_item(claim_id: str) -> tuple[str, str]:
    return (f"CLM#{claim_id}", "META")


def task_claims(task_id: str) -> str:
    """GSI3 partition of one task's claims (the merchant's review list)."""
    return f"TASK#{task_id}#CLAIMS"


def worker_counters(worker_id: str) -> tuple[str, str]:
    return (f"USER#{worker_id}", "WORKER_COUNTERS")


def sweep_state() -> tuple[str, str]:
    return ("SYS#SWEEP", "DEADLINES")


def merchant_stats(merchant_id: str) -> tuple[str, str]:
    return (f"USER#{merchant_id}", "MERCHANT_STATS")


# ---- task lifecycle and the task hall (docs/decisions/0060, 0061)


def task_due(ends_at_iso: str, task_id: str) -> tuple[str, str]:
    """GSI3 of a published or paused task: the hour bucket of its `ends_at`, then `<ends_at>#<id>`."""
    hour = ends_at_iso[0:4] + ends_at_iso[5:7] + ends_at_iso[8:10] + ends_at_iso[11:13]
    return (due_bucket(hour), f"{ends_at_iso}#{task_id}")


def task_in_review(submitted_iso: str, task_id: str) -> tuple[str, str]:
    """GSI3 of a task waiting for the desk: the review queue, oldest submission first."""
    return (task_review_queue(), f"{submitted_iso}#{task_id}")


def fee_settings() -> tuple[str, str]:
    """The desk's per-category fee rates (basis points)."""
    return ("SYS#SETTINGS", "FEES")


def hall(sort: str, scope: str, band: str | None = None) -> str:
    """A hall partition in the base table: `HALL#<N|E|R|RE>#<ALL|category>[#<band|*>]`."""
    return f"HALL#{sort}#{scope}" if band is None else f"HALL#{sort}#{scope}#{band}"


def hall_geo(res: int, cell: str, sort: str) -> str:
    """A hall partition of one H3 cell at one resolution, for one sort."""
    return f"HALL#G{res}#{cell}#{sort}"


def hall_sk(sort: str, boost: str, task_id: str, *, published: str, ends_at: str, reward_fen: int) -> str:
    """The sort key of a hall entry: boost segment first, then the order the partition serves.

    N: newest first (read descending) · E: ending soonest first (ascending) · R: highest reward first, then
    newest (descending) · RE: by reward, then ending soonest (ascending; used for one exact reward value).
    """
    if sort == "N":
        return f"{boost}#{published}#{task_id}"
    if sort == "E":
        return f"{boost}#{ends_at}#{task_id}"
    if sort == "R":
        return f"{boost}#{reward_fen:07d}#{published}#{task_id}"
    if sort == "RE":
        return f"{boost}#{reward_fen:07d}#{ends_at}#{task_id}"
    raise ValueError(sort)


def hall_reward_bounds(boost: str, lo_fen: int, hi_fen: int) -> tuple[str, str]:
    """SK bounds of the reward range [lo, hi] inside one boost segment of an R/RE partition."""
    return (f"{boost}#{lo_fen:07d}#", f"{boost}#{hi_fen:07d}#~")


def rollup(metric: str, period: str, bucket: str) -> tuple[str, str]:
    return (f"STAT#{metric}#{period}", bucket)


def rollup_marker(metric: str, source_id: str) -> tuple[str, str]:
    return (f"ROLLUP#{metric}#{source_id}", "DONE")


def notification(user_id: str, created_at: str, notification_id: str) -> tuple[str, str]:
    return (f"USER#{user_id}", f"NTF#{created_at}#{notification_id}")


def notification_prefix(user_id: str) -> tuple[str, str]:
    return (f"USER#{user_id}", "NTF#")


def credit_line(user_id: str, at: str, event: str) -> tuple[str, str]:
    return (f"USER#{user_id}", f"CREDIT#{at}#{event}")


def credit_prefix(user_id: str) -> tuple[str, str]:
    return (f"USER#{user_id}", "CREDIT#")


def credit_marker(user_id: str, event: str) -> tuple[str, str]:
    return (f"CREDIT#{user_id}#{event}", "DONE")


# ---- risk engine (docs/decisions/0100–0109)


def user_sightings(user_id: str) -> str:
    """GSI2 partition of one user's device and IP sightings (the SK is the sighting's `DEV#…`/`IP#…` PK)."""
    return f"SEEN#{user_id}"


def risk_link(user_a: str, user_b: str, reason: str) -> tuple[str, str]:
    """Two accounts tied by an attempt the uniqueness items blocked (shared payout account or identity)."""
    lo, hi = sorted((user_a, user_b))
    return (f"RLINK#{lo}#{hi}", f"REASON#{reason}")


def risk_link_prefix(user_a: str, user_b: str) -> str:
    lo, hi = sorted((user_a, user_b))
    return f"RLINK#{lo}#{hi}"


def payout_hold(user_id: str) -> tuple[str, str]:
    """The risk engine's payout hold on a user: while it exists, the payout poll leaves their withdrawals."""
    return (f"USER#{user_id}", "RISK_HOLD")


def risk_counter(rule_id: str, subject: str) -> tuple[str, str]:
    """A rule's rolling state for one subject (a merchant's last N reviews, a worker's last proof)."""
    return (f"RISK#{rule_id}#{subject}", "STATE")


def risk_content(kind: str, digest: str) -> tuple[str, str]:
    """Who first submitted one proof image hash or text hash (`kind`: img | txt)."""
    return (f"RCONTENT#{kind}#{digest}", "FIRST")


def flags_of_subject(subject: str) -> str:
    """GSI1 partition of every flag raised about one subject."""
    return f"FLAGS#SUBJECT#{subject}"


# ---- growth: weekly contest, merchant membership, promoted tasks (docs/decisions/0130–0132)


def contest_score(week_id: str, worker_id: str) -> tuple[str, str]:
    """A worker's score in one contest week, beside their profile (writes spread over users)."""
    return (f"USER#{worker_id}", f"CONTEST#{week_id}")


def contest_board(week_id: str) -> str:
    """GSI1 partition of one week's scores, sorted by `domain.contest.rank_key` (sparse: only scorers)."""
    return f"CONTEST#{week_id}"


def contest_mark(claim_id: str) -> tuple[str, str]:
    """Marks an accepted claim as counted, so a redelivered stream record counts once."""
    return (f"CONTEST#MARK#{claim_id}", "DONE")


def contest_result(week_id: str) -> tuple[str, str]:
    """A closed week's winners; its existence closes the week (late scores are refused)."""
    return (f"CONTEST#{week_id}", "RESULT")


def membership(merchant_id: str) -> tuple[str, str]:
    return (f"USER#{merchant_id}", "MEMBERSHIP")


def membership_period(merchant_id: str, seq: int) -> tuple[str, str]:
    return (f"USER#{merchant_id}", f"MEMBERSHIP#{seq:06d}")


def membership_period_prefix(merchant_id: str) -> tuple[str, str]:
    return (f"USER#{merchant_id}", "MEMBERSHIP#")


def memberships_expiring() -> str:
    """GSI1 partition of memberships by `active_until` (the expiry job reads the ones that ended)."""
    return "MEMBERSHIPS#EXPIRY"


def promotion(task_id: str) -> tuple[str, str]:
    return (f"TASK#{task_id}", "PROMOTION")


def pin_board(category: str) -> tuple[str, str]:
    """One category's running pins (task id → pinned until): the hall reads it with one GetItem."""
    return (f"PINS#{category}", "BOARD")


# ---- end growth (H7)


# ---- growth: coupons, first-task bonus, referrals (docs/decisions/0120–0129)


def first_task_marker(worker_id: str) -> tuple[str, str]:
    """Written once, with the first-task bonus and the coupon unlock: the worker's first accepted task."""
    return (f"USER#{worker_id}", "PROMO#FIRST_TASK")


def referral(invitee_id: str) -> tuple[str, str]:
    """One invitee's referral record (pending → paid | withheld), keyed by the invitee: one per account."""
    return (f"USER#{invitee_id}", "REFERRAL")


def invite_stats(inviter_id: str) -> tuple[str, str]:
    """An inviter's counters: how many registered with their code and what the rewards paid them."""
    return (f"USER#{inviter_id}", "INVITE_STATS")


def referral_day(inviter_id: str, day: str) -> tuple[str, str]:
    """Rewarded invitees of one inviter on one Asia/Shanghai day (the daily cap)."""
    return (f"USER#{inviter_id}", f"REFDAY#{day}")


# ---- the operator's desk: user lists, audit-log indexes, reports (docs/decisions/0110–0119)


def users_by_role_status(role: str, status: str, created_iso: str, user_id: str) -> tuple[str, str]:
    """GSI2 of a user: the desk's user lists by role and status (`active`/`frozen`), in creation order."""
    return (f"USERS#{role}#{status}", f"{created_iso}#{user_id}")


def users_role_partition(role: str) -> str:
    return f"USERS#{role}"


def users_role_status_partition(role: str, status: str) -> str:
    return f"USERS#{role}#{status}"


def audit_by_actor(actor_id: str) -> str:
    """GSI1 partition of one actor's audit entries (SK: the entry's `<time>#<id>`)."""
    return f"AUDIT#ACTOR#{actor_id}"


def audit_by_target(target_id: str) -> str:
    """GSI2 partition of the audit entries about one object (user, task, merchant, flag…)."""
    return f"AUDIT#TARGET#{target_id}"


def audit_by_action(action: str) -> str:
    """GSI3 partition of one action's audit entries (`user.freeze`, `task.approve`…)."""
    return f"AUDIT#ACTION#{action}"


def report(period: str, period_start: str, report_kind: str) -> tuple[str, str]:
    """A generated report file's record: one per (period, period start, kind), newest last."""
    return (f"REPORTS#{period}", f"{period_start}#{report_kind}")


def reports(period: str) -> str:
    return f"REPORTS#{period}"


# ---- merchant server API (request signing)


def merchant_api_key(merchant_id: str) -> tuple[str, str]:
    return (f"USER#{merchant_id}", "APIKEY")


def signature_nonce(merchant_id: str, nonce: str) -> tuple[str, str]:
    return (f"NONCE#{merchant_id}#{nonce}", "NONCE")


# ---- disputes (docs/decisions/0090-disputes.md)


def dispute(dispute_id: str) -> tuple[str, str]:
    return (f"DSP#{dispute_id}", "META")


def dispute_partition(dispute_id: str) -> str:
    """The case partition: META, one PARTY# item per party, MSG# thread items — one Query reads the case."""
    return f"DSP#{dispute_id}"


def dispute_party(dispute_id: str, user_id: str) -> tuple[str, str]:
    return (f"DSP#{dispute_id}", f"PARTY#{user_id}")


def dispute_message(dispute_id: str, at_iso: str, message_id: str) -> tuple[str, str]:
    return (f"DSP#{dispute_id}", f"MSG#{at_iso}#{message_id}")


def party_disputes(user_id: str) -> str:
    """GSI3 partition of every dispute a user is party to (their list), newest first."""
    return f"PARTY#{user_id}#DISPUTES"


def disputes_by_status(status: str) -> str:
    """GSI3 partition of the desk's dispute queue."""
    return f"DISPUTES#{status}"


def claim_open_dispute(claim_id: str) -> tuple[str, str]:
    """Guard: one open case per claim (created with the case, deleted when it is resolved)."""
    return (f"CLM#{claim_id}", "OPEN_DISPUTE")


# ---- webhooks (docs/decisions/0071-webhook-records.md)


def webhook(merchant_id: str, webhook_id: str) -> tuple[str, str]:
    """A merchant's endpoint, under the merchant: every `/v1/webhooks/{id}` route starts with this GetItem."""
    return (f"USER#{merchant_id}", f"WHK#{webhook_id}")


def webhook_prefix(merchant_id: str) -> tuple[str, str]:
    return (f"USER#{merchant_id}", "WHK#")


def webhook_count(merchant_id: str) -> tuple[str, str]:
    """How many endpoints the merchant has (the cap is a condition on it)."""
    return (f"USER#{merchant_id}", "WHKCOUNT")


def webhook_delivery(webhook_id: str, delivery_id: str) -> tuple[str, str]:
    """One delivery, in its endpoint's own partition (the delivery log), newest last by its time-ordered id."""
    return (f"WHK#{webhook_id}", f"D#{delivery_id}")


def webhook_deliveries_prefix(webhook_id: str) -> tuple[str, str]:
    return (f"WHK#{webhook_id}", "D#")


def webhook_due(shard: int) -> str:
    """GSI2 partition of deliveries waiting for an attempt, sorted `<due>#<webhook>#<delivery>`."""
    return f"WHKDUE#{shard}"


def webhook_due_sk(due_iso: str, webhook_id: str, delivery_id: str) -> str:
    return f"{due_iso}#{webhook_id}#{delivery_id}"
