"""Identity rules: mainland phone numbers, resident ID numbers (GB 11643), credit codes (GB 32100), names, masks.

Pure functions: they parse and normalise what a person typed, or raise `Invalid` with a Chinese explanation
under the field's name, so a handler can return 422 with `details.fields` without knowing the rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from chalicelib.domain.errors import Invalid

# ---------------------------------------------------------------- phones

# ASCII digits only: `\d` would also accept other scripts' digits (١٣٨…), a second spelling of one number that
# would hash to a different blind index and slip past the uniqueness items.
_PHONE_RE = re.compile(r"^1[3-9][0-9]{9}$")


def normalize_phone(raw: str, field: str = "phone") -> str:
    """`+86 138-0000-0000` → `13800000000`; anything that is not a mainland mobile number is invalid."""
    text = re.sub(r"[\s\-]", "", raw or "")
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    if not _PHONE_RE.match(text):
        raise Invalid({field: "请输入正确的中国大陆手机号（11 位，以 1 开头）"})
    return text


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


# ---------------------------------------------------------------- resident ID numbers (GB 11643-1999)

# Province-level prefixes of GB/T 2260 region codes, plus 71 (Taiwan), 81/82 (Hong Kong, Macao) and 83
# (residence permits of Hong Kong, Macao and Taiwan residents, which use the same 18-character format).
PROVINCE_CODES = frozenset(
    {
        "11", "12", "13", "14", "15",
        "21", "22", "23",
        "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46",
        "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65",
        "71", "81", "82", "83",
    }
)  # fmt: skip
_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
_ID_CHECK = "10X98765432"  # ISO 7064 MOD 11-2: index = weighted sum mod 11
_ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")
MIN_BIRTH_YEAR = 1900


def id_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


@dataclass(frozen=True)
class IdNumber:
    value: str  # normalised: 18 characters, upper-case X
    region: str  # six-digit administrative region code
    birth_date: date
    sequence: str  # three digits; odd for men, even for women

    @property
    def province(self) -> str:
        return self.region[:2]

    @property
    def masked(self) -> str:
        return mask_id_number(self.value)


def parse_id_number(raw: str, field: str = "id_number") -> IdNumber:
    """Validate an 18-character resident ID number; lower-case x is accepted and normalised to X."""
    text = (raw or "").strip().upper()
    if len(text) != 18 or not _ID_RE.match(text):
        raise Invalid({field: "身份证号应为 18 位，前 17 位为数字，最后一位为数字或 X"})
    region = text[:6]
    if region[:2] not in PROVINCE_CODES:
        raise Invalid({field: "身份证号的地区码不正确"})
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise Invalid({field: "身份证号中的出生日期不正确"}) from None
    if born.year < MIN_BIRTH_YEAR:
        raise Invalid({field: "身份证号中的出生日期不正确"})
    if text[17] != id_check_digit(text[:17]):
        raise Invalid({field: "身份证号校验位不正确，请仔细核对"})
    return IdNumber(value=text, region=region, birth_date=born, sequence=text[14:17])


def check_birth_date(ident: IdNumber, today: date, min_age: int, field: str = "id_number") -> None:
    """The birth date must not be in the future, and the holder must be at least `min_age` on `today`."""
    if ident.birth_date > today:
        raise Invalid({field: "身份证号中的出生日期不正确"})
    if age_on(ident.birth_date, today) < min_age:
        raise Invalid({field: f"年满 {min_age} 周岁才能完成实名认证"}, code="AGE_BELOW_MINIMUM")


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def mask_id_number(value: str) -> str:
    """`110105199001010022` → `110105********0022`: region and last four, never the birth date."""
    return f"{value[:6]}{'*' * 8}{value[-4:]}"


# ---------------------------------------------------------------- unified social credit codes (GB 32100-2015)

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_CREDIT_VALUE = {c: i for i, c in enumerate(CREDIT_ALPHABET)}
_CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
_CREDIT_RE = re.compile(rf"^[{CREDIT_ALPHABET}]{{2}}[0-9]{{6}}[{CREDIT_ALPHABET}]{{10}}$")


def credit_check_char(first17: str) -> str:
    """GB 32100 check character: 31 − (weighted sum mod 31), with 31 written as 0."""
    total = sum(_CREDIT_VALUE[c] * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def parse_credit_code(raw: str, field: str = "license_no") -> str:
    """Validate an 18-character unified social credit code; returns it upper-cased."""
    text = (raw or "").strip().upper()
    if not _CREDIT_RE.match(text):
        raise Invalid({field: "统一社会信用代码应为 18 位数字或大写字母（不含 I、O、S、V、Z）"})
    if text[17] != credit_check_char(text[:17]):
        raise Invalid({field: "统一社会信用代码校验位不正确，请仔细核对营业执照"})
    return text


def mask_credit_code(value: str) -> str:
    return f"{value[:4]}{'*' * 10}{value[-4:]}"


# ---------------------------------------------------------------- names

# CJK ideographs (basic block and extension A), with the middle dot used in transliterated minority names.
_NAME_RE = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff](?:[\u3400-\u4dbf\u4e00-\u9fff·•]*[\u3400-\u4dbf\u4e00-\u9fff])?$")


def normalize_chinese_name(raw: str, field: str = "name") -> str:
    text = (raw or "").strip().replace("•", "·")
    if not 2 <= len(text) <= 20 or not _NAME_RE.match(text) or "··" in text:
        raise Invalid({field: "请填写与身份证一致的中文姓名（2–20 个汉字，少数民族姓名可含“·”）"})
    return text


def mask_name(name: str) -> str:
    """`张三` → `*三`, `欧阳娜娜` → `***娜`: only the last character stays."""
    return "*" * (len(name) - 1) + name[-1]
