"""Secrets never reach a log line: checked on the JSON the real powertools logger writes."""

from __future__ import annotations

import logging

import pytest

from chalicelib.adapters.log import MASK, is_sensitive_key, logger, redact_text

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3JfMDEifQ.c2lnbmF0dXJlLWJ5dGVz"
ID_NUMBER = "11010519491231002X"
PHONE = "13812345678"


def test_bearer_token_in_a_message_is_masked(log_lines):
    logger.warning("calling upstream with Authorization: Bearer abc.def-123_xyz")
    [line] = log_lines.all()
    assert "abc.def-123_xyz" not in log_lines.text
    assert "Bearer ***" in line["message"]


def test_bare_jwt_anywhere_in_text_is_masked(log_lines):
    logger.warning(f"refresh failed for token {TOKEN} at login")
    assert TOKEN not in log_lines.text
    assert "eyJ" not in log_lines.text


def test_percent_arguments_are_redacted_after_formatting(log_lines):
    logger.warning("login attempt password=%s otp=%s", "hunter2", "123456")
    [line] = log_lines.all()
    assert "hunter2" not in log_lines.text and "123456" not in log_lines.text
    assert line["message"] == "login attempt password=*** otp=***"


def test_sensitive_extra_keys_are_masked_at_any_depth(log_lines):
    logger.warning(
        "request body",
        extra={
            "password": "hunter2",
            "otp": "654321",
            "body": {"phone": PHONE, "new_password": "s3cret!", "nested": [{"refresh_token": "rt.value"}]},
            "headers": {"Authorization": f"Bearer {TOKEN}", "X-Taskhall-Signature": "sig==", "Accept": "json"},
            "id_number": ID_NUMBER,
        },
    )
    [line] = log_lines.all()
    for secret in ("hunter2", "654321", PHONE, "s3cret!", "rt.value", TOKEN, "sig==", ID_NUMBER):
        assert secret not in log_lines.text, secret
    assert line["password"] == MASK and line["otp"] == MASK and line["id_number"] == MASK
    assert line["body"]["nested"] == [{"refresh_token": MASK}]
    assert line["headers"] == {"Authorization": MASK, "X-Taskhall-Signature": MASK, "Accept": "json"}


def test_id_numbers_and_phones_in_free_text_keep_only_their_ends(log_lines):
    logger.warning(f"real-name check for {ID_NUMBER} from {PHONE}")
    [line] = log_lines.all()
    assert line["message"] == "real-name check for 110105********002X from 138****5678"


def test_exception_text_is_redacted(log_lines):
    try:
        raise RuntimeError(f"provider said: invalid signature for Bearer {TOKEN} password=hunter2")
    except RuntimeError:
        logger.exception("provider call failed")
    [line] = log_lines.all()
    assert line["exception_name"] == "RuntimeError"
    assert TOKEN not in log_lines.text and "hunter2" not in log_lines.text


def test_keys_appended_to_the_logger_are_redacted(log_lines):
    logger.thread_safe_append_keys(authorization=f"Bearer {TOKEN}")
    try:
        logger.warning("with an appended key")
    finally:
        logger.thread_safe_remove_keys(["authorization"])
    [line] = log_lines.all()
    assert line["authorization"] == MASK


def test_objects_logged_as_text_are_redacted(log_lines):
    class Credentials:
        def __str__(self) -> str:
            return f"Credentials(token={TOKEN})"

    logger.warning("loaded", extra={"what": Credentials()})
    [line] = log_lines.all()
    assert TOKEN not in log_lines.text
    assert line["what"].startswith("Credentials(token=***")


def test_ordinary_fields_are_left_alone(log_lines):
    logger.warning(
        "claim refused",
        extra={"code": "SLOTS_EXHAUSTED", "request_id": "req_01ABC", "task_id": "tsk_01XYZ", "amount_fen": 15000},
    )
    [line] = log_lines.all()
    assert (line["code"], line["request_id"], line["task_id"], line["amount_fen"]) == (
        "SLOTS_EXHAUSTED",
        "req_01ABC",
        "tsk_01XYZ",
        15000,
    )
    assert line["message"] == "claim refused"


def test_chalice_logs_through_the_same_redacting_handler(log_lines):
    import app  # noqa: F401  (Chalice logs to the logger named after the app: ours)

    taskhall = logging.getLogger("taskhall")
    assert taskhall.handlers == [logger.registered_handler]
    assert taskhall.getEffectiveLevel() <= logging.WARNING  # chalice did not silence it down to ERROR
    taskhall.error("Caught exception for path %s", f"/v1/x?password=hunter2&t={TOKEN}")
    [line] = log_lines.all()
    assert "hunter2" not in line["message"] and TOKEN not in line["message"]


@pytest.mark.parametrize(
    ("key", "sensitive"),
    [
        ("password", True),
        ("new_password", True),
        ("refresh_token", True),
        ("X-Taskhall-Signature", True),
        ("Authorization", True),
        ("otp", True),
        ("dev_code", True),
        ("id_number", True),
        ("phone", True),
        ("code", False),
        ("footprint", False),
        ("request_id", False),
        ("token_count", True),  # over-masking a counter is the safe side
    ],
)
def test_sensitive_key_names(key, sensitive):
    assert is_sensitive_key(key) is sensitive


def test_redact_text_leaves_long_digit_runs_that_are_not_ids():
    assert redact_text("sequence 123456789012345678901 and ts 1795536000000") == (
        "sequence 123456789012345678901 and ts 1795536000000"
    )


def test_records_propagating_to_other_handlers_are_redacted_too():
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    collector = Collect()
    logging.getLogger().addHandler(collector)
    try:
        logger.warning("otp=%s for %s", "987654", PHONE, extra={"body": {"password": "hunter2"}})
    finally:
        logging.getLogger().removeHandler(collector)
    [record] = seen
    assert record.getMessage() == "otp=*** for 138****5678"
    assert record.body == {"password": MASK}
