"""Registration and sign-in through the API, and the refresh-token family lifecycle."""

from __future__ import annotations

from tests.api.identity.factory import PASSWORD


def test_register_login_refresh_reuse_then_login_again(api, flow, phone):
    reg = flow.register(phone, role="worker")
    assert reg.status == 201
    body = reg.json
    assert body["user"]["role"] == "worker"
    assert body["user"]["phone"] == f"{phone[:3]}****{phone[-4:]}"
    assert body["expires_in"] <= 900
    assert api.get("/v1/me", token=body["access_token"]).status == 200

    login = flow.login(phone)
    assert login.status == 200
    first_refresh = login.json["refresh_token"]

    rotated = api.post("/v1/auth/refresh", {"refresh_token": first_refresh})
    assert rotated.status == 200
    second_refresh = rotated.json["refresh_token"]
    assert second_refresh != first_refresh
    assert api.get("/v1/me", token=rotated.json["access_token"]).status == 200

    # Replaying the rotated-out token is reuse: refused, and the whole family dies with it.
    reuse = api.post("/v1/auth/refresh", {"refresh_token": first_refresh})
    assert reuse.status == 401
    assert reuse.code == "REFRESH_TOKEN_INVALID"
    after = api.post("/v1/auth/refresh", {"refresh_token": second_refresh})
    assert after.status == 401

    # The registration session is another family and is untouched; signing in again works.
    assert api.post("/v1/auth/refresh", {"refresh_token": body["refresh_token"]}).status == 200
    again = flow.login(phone)
    assert again.status == 200
    assert api.post("/v1/auth/refresh", {"refresh_token": again.json["refresh_token"]}).status == 200


def test_refresh_with_a_forged_token_of_a_live_family_does_not_revoke_it(api, flow, phone):
    tokens = flow.register(phone).json
    user_id, family, _ = tokens["refresh_token"].split(".")
    forged = api.post("/v1/auth/refresh", {"refresh_token": f"{user_id}.{family}.not-the-secret"})
    assert forged.status == 401
    assert api.post("/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]}).status == 200


def test_refresh_after_the_family_lifetime_is_refused(api, clock, flow, phone):
    tokens = flow.register(phone).json
    clock.advance(30 * 86400 + 1)
    assert api.post("/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]}).status == 401


def test_logout_revokes_the_current_family_only(api, flow, phone):
    first = flow.register(phone).json
    second = flow.login(phone).json
    out = api.post("/v1/auth/logout", {}, token=second["access_token"])
    assert out.status == 200
    assert out.json == {"revoked": 1}
    assert api.post("/v1/auth/refresh", {"refresh_token": second["refresh_token"]}).status == 401
    assert api.post("/v1/auth/refresh", {"refresh_token": first["refresh_token"]}).status == 200


def test_logout_all_devices_revokes_every_family(api, flow, phone):
    first = flow.register(phone).json
    second = flow.login(phone).json
    out = api.post("/v1/auth/logout", {"all_devices": True}, token=second["access_token"])
    assert out.json == {"revoked": 2}
    assert api.post("/v1/auth/refresh", {"refresh_token": first["refresh_token"]}).status == 401


def test_register_same_phone_twice_returns_409(flow, phone):
    assert flow.register(phone).status == 201
    again = flow.register(phone)
    assert again.status == 409
    assert again.code == "PHONE_IN_USE"


def test_register_as_admin_is_refused_with_422(api, flow, phone):
    body = {"phone": phone, "password": PASSWORD, "otp": flow.code(phone), "role": "admin"}
    reply = api.post("/v1/auth/register", body)
    assert reply.status == 422
    assert "role" in reply.json["error"]["details"]["fields"]


def test_register_with_invalid_phone_returns_422(api):
    reply = api.post(
        "/v1/auth/register", {"phone": "12800000000", "password": PASSWORD, "otp": "123456", "role": "worker"}
    )
    assert reply.status == 422
    assert "phone" in reply.json["error"]["details"]["fields"]


def test_register_with_weak_passwords_explains_in_chinese(api, flow, phone):
    cases = {
        "short1": "至少需要 8 位",
        "onlyletters": "字母和数字",
        "12345678": "字母和数字",
        "Password1": "过于常见",
        f"a{phone}": "手机号",
    }
    for password, hint in cases.items():
        body = {"phone": phone, "password": password, "otp": "000000", "role": "worker"}
        reply = api.post("/v1/auth/register", body)
        assert reply.status == 422, password
        assert reply.code == "WEAK_PASSWORD"
        assert hint in reply.json["error"]["details"]["fields"]["password"]


def test_weak_password_does_not_spend_the_code(api, flow, phone):
    code = flow.code(phone)
    weak = api.post("/v1/auth/register", {"phone": phone, "password": "weak", "otp": code, "role": "worker"})
    assert weak.status == 422
    ok = api.post("/v1/auth/register", {"phone": phone, "password": PASSWORD, "otp": code, "role": "worker"})
    assert ok.status == 201


def test_invite_code_is_recorded_and_every_user_has_their_own(api, flow, users):
    inviter = users.make("worker")
    inviter_code = api.get("/v1/me", token=inviter.token).json["invite_code"]
    reg = flow.register(role="merchant", invite_code=inviter_code.lower())
    assert reg.status == 201
    assert reg.json["user"]["invite_code"] != inviter_code
    from chalicelib.store import users as user_store

    stored = user_store.get_user(reg.json["user"]["id"], consistent=True)
    assert stored.invited_by == inviter.id
    assert stored.invited_with == inviter_code


def test_unknown_invite_code_returns_422(flow):
    reply = flow.register(invite_code="NOSUCH22")
    assert reply.status == 422
    assert reply.code == "INVITE_CODE_INVALID"


def test_new_account_profile_defaults(api, flow):
    me = api.get("/v1/me", token=flow.register(role="merchant").json["access_token"]).json
    assert me["status"] == "active"
    assert me["credit_score"] == 100
    assert me["real_name"] == {"status": "none", "name": None, "id_number": None, "verified_at": None}
    assert me["membership"] is None
    assert me["merchant_verification"] == {"status": "none", "reject_reason": None}


def test_login_with_sms_code(api, flow, phone):
    flow.register(phone)
    code = flow.code(phone, "login")
    reply = api.post("/v1/auth/login", {"phone": phone, "otp": code})
    assert reply.status == 200
    assert api.get("/v1/me", token=reply.json["access_token"]).status == 200


def test_login_needs_exactly_one_of_password_and_code(api, phone):
    assert api.post("/v1/auth/login", {"phone": phone}).status == 422
    assert api.post("/v1/auth/login", {"phone": phone, "password": PASSWORD, "otp": "123456"}).status == 422


def test_password_reset_by_sms_signs_out_everywhere(api, flow, phone):
    old = flow.register(phone).json
    code = flow.code(phone, "reset")
    reply = api.post("/v1/auth/reset", {"phone": phone, "otp": code, "new_password": "NewSecret2027"})
    assert reply.status == 200
    assert api.get("/v1/me", token=old["access_token"]).status == 401
    assert api.post("/v1/auth/refresh", {"refresh_token": old["refresh_token"]}).status == 401
    assert flow.login(phone).status == 401
    assert flow.login(phone, "NewSecret2027").status == 200


def test_password_reset_for_unregistered_phone_returns_422(api, flow, phone):
    code = flow.code(phone, "reset")
    reply = api.post("/v1/auth/reset", {"phone": phone, "otp": code, "new_password": "NewSecret2027"})
    assert reply.status == 422
    assert reply.code == "ACCOUNT_NOT_FOUND"


def test_password_change_revokes_other_sessions_and_returns_fresh_tokens(api, flow, phone):
    other = flow.register(phone).json
    current = flow.login(phone).json
    body = {"old_password": PASSWORD, "new_password": "Changed2027pw"}
    reply = api.post("/v1/me/password", body, token=current["access_token"])
    assert reply.status == 200
    assert api.get("/v1/me", token=reply.json["access_token"]).status == 200
    for stale in (other, current):
        assert api.get("/v1/me", token=stale["access_token"]).status == 401
        assert api.post("/v1/auth/refresh", {"refresh_token": stale["refresh_token"]}).status == 401
    assert api.post("/v1/auth/refresh", {"refresh_token": reply.json["refresh_token"]}).status == 200
    assert flow.login(phone, "Changed2027pw").status == 200


def test_password_change_with_wrong_old_password_returns_422_then_locks(api, flow, phone):
    token = flow.register(phone).json["access_token"]
    body = {"old_password": "Wrong2027pw", "new_password": "Changed2027pw"}
    for _ in range(4):
        reply = api.post("/v1/me/password", body, token=token)
        assert reply.status == 422
        assert reply.code == "OLD_PASSWORD_INCORRECT"
    locked = api.post("/v1/me/password", body, token=token)
    assert locked.status == 429
    assert int(locked.headers["Retry-After"]) == 900
