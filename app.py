"""Taskhall's Chalice app. Wiring only: blueprints, middleware, event sources and schedules live in handlers."""

from chalice import Chalice

from chalicelib.config import settings
from chalicelib.handlers import (
    admin_analytics,
    admin_audit,
    admin_finance,
    admin_reports,
    admin_risk,
    admin_users,
    auth,
    claims,
    contest,
    credit,
    disputes,
    events,
    guarantee,
    hall,
    invite,
    me,
    membership,
    merchant_api,
    merchants,
    notifications,
    payments,
    promoted,
    schedules,
    system,
    task_review,
    tasks,
    uploads,
    wallet,
    web,
    webhooks,
    withdrawals,
)

app = Chalice(app_name="taskhall", configure_logs=False)  # adapters/log.py owns logging (redacted JSON)
app.api.binary_types = []  # every response is text (JSON or CSV)
app.register_middleware(web.http_middleware, "http")

app.register_blueprint(system.bp)
app.register_blueprint(events.bp)
app.register_blueprint(schedules.bp)
app.register_blueprint(auth.bp)
app.register_blueprint(me.bp)
app.register_blueprint(merchants.bp)
app.register_blueprint(uploads.bp)
app.register_blueprint(wallet.bp)
app.register_blueprint(payments.bp)
app.register_blueprint(withdrawals.bp)
app.register_blueprint(guarantee.bp)
app.register_blueprint(claims.bp)
app.register_blueprint(tasks.bp)
app.register_blueprint(task_review.bp)
app.register_blueprint(hall.bp)
app.register_blueprint(admin_finance.bp)
app.register_blueprint(admin_reports.bp)
app.register_blueprint(admin_analytics.bp)
app.register_blueprint(admin_risk.bp)
app.register_blueprint(admin_audit.bp)
app.register_blueprint(admin_users.bp)
app.register_blueprint(notifications.bp)
app.register_blueprint(credit.bp)
app.register_blueprint(contest.bp)
app.register_blueprint(membership.bp)
app.register_blueprint(promoted.bp)
app.register_blueprint(disputes.bp)
app.register_blueprint(invite.bp)
app.register_blueprint(merchant_api.bp)
app.register_blueprint(webhooks.bp)

if settings().is_local:
    from chalicelib.handlers import sandbox, sandbox_payments

    app.register_blueprint(sandbox.bp)
    app.register_blueprint(sandbox_payments.bp)
