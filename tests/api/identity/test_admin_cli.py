"""`make admin` (devstack/admin.py): the only way desk staff come to exist."""

from __future__ import annotations

import os

import pytest

from devstack import admin
from tests.api.identity.factory import new_phone


@pytest.fixture
def cli_env(monkeypatch):
    """The CLI edits the environment; monkeypatch restores it after the test."""
    for key in ("STAGE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, os.environ[key])
    for key in ("AWS_ENDPOINT_URL", "PHONE", "ROLE", "PASSWORD"):
        monkeypatch.setenv(key, "")  # recorded first, so the CLI's own writes are undone too
        monkeypatch.delenv(key)
    return monkeypatch


def test_cli_creates_a_reviewer_who_can_sign_in_and_review(api, flow, cli_env, capsys):
    phone = new_phone()
    cli_env.setenv("PASSWORD", "Desk2026review")
    assert admin.main(["--phone", phone, "--role", "reviewer"]) == 0
    assert "created reviewer usr_" in capsys.readouterr().out
    signed = flow.login(phone, "Desk2026review")
    assert signed.status == 200
    assert signed.json["user"]["role"] == "reviewer"
    assert api.get("/v1/admin/merchants", token=signed.json["access_token"]).status == 200


def test_cli_refuses_weak_passwords_and_taken_phones(api, cli_env, capsys):
    phone = new_phone()
    cli_env.setenv("PASSWORD", "password")
    assert admin.main(["--phone", phone]) == 1
    assert "WEAK_PASSWORD" in capsys.readouterr().err
    cli_env.setenv("PASSWORD", "Desk2026admin")
    assert admin.main(["--phone", phone]) == 0
    assert admin.main(["--phone", phone, "--role", "finance"]) == 1
    assert "PHONE_IN_USE" in capsys.readouterr().err


def test_cli_rejects_public_roles(cli_env):
    cli_env.setenv("PASSWORD", "Desk2026admin")
    with pytest.raises(SystemExit):
        admin.main(["--phone", new_phone(), "--role", "worker"])


def test_cli_defaults_to_the_local_stack(monkeypatch):
    for key in ("STAGE", "AWS_ENDPOINT_URL", "MOTO_PORT", "AWS_PROFILE"):
        monkeypatch.setenv(key, "")  # recorded first, so the CLI's own writes are undone too
        monkeypatch.delenv(key)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(key, os.environ[key])
    assert admin._point_at_stage() == "local"
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert os.environ["AWS_ACCESS_KEY_ID"] == "local"
