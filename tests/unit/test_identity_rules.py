"""Identity rules without I/O: ID numbers (GB 11643), credit codes (GB 32100), phones, names, passwords, uploads."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import identity as ident
from chalicelib.domain.errors import Invalid, NotFound
from chalicelib.domain.passwords import check_strength
from chalicelib.domain.roles import Caller

# ---------------------------------------------------------------- strategies

provinces = st.sampled_from(sorted(ident.PROVINCE_CODES))
birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 11, 25))


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    region = draw(provinces) + draw(st.from_regex(r"[0-9]{4}", fullmatch=True))
    first17 = region + draw(birth_dates).strftime("%Y%m%d") + draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    return first17 + ident.id_check_digit(first17)


@st.composite
def credit_codes(draw: st.DrawFn) -> str:
    alpha = st.sampled_from(ident.CREDIT_ALPHABET)
    head = draw(alpha) + draw(alpha) + draw(st.from_regex(r"[0-9]{6}", fullmatch=True))
    first17 = head + "".join(draw(st.lists(alpha, min_size=9, max_size=9)))
    return first17 + ident.credit_check_char(first17)


def _single_changes(value: str, alphabet: str, draw: st.DrawFn) -> str:
    pos = draw(st.integers(0, len(value) - 1))
    replacement = draw(st.sampled_from([c for c in alphabet if c != value[pos]]))
    return value[:pos] + replacement + value[pos + 1 :]


# ---------------------------------------------------------------- GB 11643


def test_published_example_id_number_validates():
    parsed = ident.parse_id_number("11010519491231002X")
    assert parsed.region == "110105"
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.masked == "110105********002X"


@given(id_numbers())
def test_generated_id_numbers_parse(value):
    assert ident.parse_id_number(value).value == value


@given(id_numbers())
def test_lower_case_x_is_normalised(value):
    assert ident.parse_id_number(value.lower()).value == value


@given(st.data())
@settings(max_examples=300)
def test_any_single_character_change_of_an_id_number_fails(data):
    value = data.draw(id_numbers())
    # Changing X to x is the same number (normalised), not a change; every other substitution is.
    changed = _single_changes(value, "0123456789X", data.draw)
    with pytest.raises(Invalid) as err:
        ident.parse_id_number(changed)
    assert "id_number" in err.value.fields


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("11010519491231002", "18 位"),
        ("1101051949123100211", "18 位"),
        ("11010519491231002Y", "18 位"),
        ("99010519491231002X", "地区码"),
        ("110105194902300020", "出生日期"),
        ("110105189912310020", "出生日期"),
        ("110105194912310021", "校验位"),
    ],
)
def test_invalid_id_numbers_explain_why(value, hint):
    with pytest.raises(Invalid) as err:
        ident.parse_id_number(value)
    assert hint in err.value.fields["id_number"]


@pytest.mark.parametrize("digits", ["١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "11010519491231００2X"])
def test_id_numbers_in_other_scripts_digits_are_invalid(digits):
    # `\d` would accept these and hash them differently from the ASCII spelling of the same number.
    with pytest.raises(Invalid):
        ident.parse_id_number(digits)
    with pytest.raises(Invalid):
        ident.normalize_phone("13８00000000")


def test_age_is_measured_on_the_given_day():
    today = date(2026, 11, 25)
    sixteen_today = ident.parse_id_number(_id_born(date(2010, 11, 25)))
    ident.check_birth_date(sixteen_today, today, 16)
    one_day_short = ident.parse_id_number(_id_born(date(2010, 11, 26)))
    with pytest.raises(Invalid) as err:
        ident.check_birth_date(one_day_short, today, 16)
    assert err.value.code == "AGE_BELOW_MINIMUM"
    future = ident.parse_id_number(_id_born(today + timedelta(days=1)))
    with pytest.raises(Invalid):
        ident.check_birth_date(future, today, 16)


def _id_born(born: date) -> str:
    first17 = "110105" + born.strftime("%Y%m%d") + "001"
    return first17 + ident.id_check_digit(first17)


# ---------------------------------------------------------------- GB 32100


def test_published_example_credit_code_validates():
    assert ident.parse_credit_code("91350100m000100y43") == "91350100M000100Y43"
    assert ident.mask_credit_code("91350100M000100Y43") == "9135**********0Y43"


@given(credit_codes())
def test_generated_credit_codes_parse(value):
    assert ident.parse_credit_code(value) == value


@given(st.data())
@settings(max_examples=300)
def test_any_single_character_change_of_a_credit_code_fails(data):
    value = data.draw(credit_codes())
    changed = _single_changes(value, ident.CREDIT_ALPHABET + "IOSVZ", data.draw)
    with pytest.raises(Invalid) as err:
        ident.parse_credit_code(changed)
    assert "license_no" in err.value.fields


# ---------------------------------------------------------------- phones, names


@pytest.mark.parametrize("raw", ["13800000000", "+86 138 0000 0000", "0086-138-0000-0000", " 19912345678 "])
def test_mainland_phones_normalise(raw):
    assert ident.normalize_phone(raw)[0] == "1"
    assert len(ident.normalize_phone(raw)) == 11


@pytest.mark.parametrize("raw", ["12800000000", "1380000000", "138000000000", "+1 4155550100", "abc"])
def test_other_phones_are_invalid(raw):
    with pytest.raises(Invalid):
        ident.normalize_phone(raw)


def test_phone_mask_keeps_prefix_and_last_four():
    assert ident.mask_phone("13812345678") == "138****5678"


@pytest.mark.parametrize("name", ["张三", "欧阳娜娜", "阿卜杜·热合曼", "买买提•艾力"])
def test_chinese_names_are_accepted(name):
    assert ident.normalize_chinese_name(name).replace("·", "") == name.replace("•", "").replace("·", "")


@pytest.mark.parametrize("name", ["张", "Zhang San", "张三3", "·张三", "张··三", "张" * 21, ""])
def test_other_names_are_invalid(name):
    with pytest.raises(Invalid):
        ident.normalize_chinese_name(name)


def test_name_mask_keeps_only_the_last_character():
    assert ident.mask_name("张三") == "*三"
    assert ident.mask_name("欧阳娜娜") == "***娜"


# ---------------------------------------------------------------- passwords


@pytest.mark.parametrize("password", ["Taskhall2026ok", "x9" * 4, "长密码也可以abc123"])
def test_strong_enough_passwords_pass(password):
    check_strength(password, "13800000000")


@pytest.mark.parametrize(
    ("password", "hint"),
    [
        ("a1b2c3", "至少需要 8 位"),
        ("a1" * 40, "不能超过"),
        ("abcdefghij", "字母和数字"),
        ("1234567890", "字母和数字"),
        ("x13800000000", "手机号"),
        ("Abcd1234", "过于常见"),
        ("WOAINI1314", "过于常见"),
    ],
)
def test_weak_passwords_name_the_rule(password, hint):
    with pytest.raises(Invalid) as err:
        check_strength(password, "13800000000")
    assert err.value.code == "WEAK_PASSWORD"
    assert hint in err.value.fields["password"]


# ---------------------------------------------------------------- object-level access, uploads


def test_require_owner_hides_other_peoples_objects_as_404():
    from chalicelib.domain.access import require_owner

    me = Caller(id="usr_me", role="worker")
    require_owner(me, "usr_me")
    require_owner(me, ("usr_other", "usr_me"))
    for owners in ("usr_other", ("usr_a", "usr_b"), None):
        with pytest.raises(NotFound):
            require_owner(me, owners)


def test_upload_keys_are_parsed_strictly():
    from chalicelib.domain.uploads import check_upload, key_owner, object_key

    user = "usr_" + "0" * 26
    ulid = "1" * 26
    assert check_upload("license", "Application/PDF", 100) == "pdf"
    key = object_key(user, "license", ulid, "pdf")
    assert key_owner(key, ["license"]) == user
    assert key_owner(key, ["proof"]) is None
    assert key_owner(key.replace(".pdf", ".exe"), ["license"]) is None
    assert key_owner("../" + key, ["license"]) is None
    with pytest.raises(Invalid):
        check_upload("selfie", "image/png", 1)
