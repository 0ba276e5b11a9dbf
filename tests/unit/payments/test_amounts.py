"""Yuan string ↔ integer fen conversion: exact, strict, float-free."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.adapters.payments.amounts import InvalidAmount, fen_to_yuan, yuan_to_fen

FEN = st.integers(min_value=0, max_value=10**15 - 1)


@pytest.mark.parametrize(
    ("text", "fen"),
    [("0.01", 1), ("12.30", 1230), ("12.3", 1230), ("12", 1200), ("0", 0), ("0.00", 0), ("100000000.00", 10**10)],
)
def test_yuan_to_fen_reads_exact_amounts(text: str, fen: int) -> None:
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize(
    "text",
    ["1.234", "-1", "-0.01", "+1", "abc", "", " 1", "1 ", "1.", ".5", "01.00", "1e3", "1,000", "１２", "١", "NaN"],
)
def test_yuan_to_fen_rejects_inexact_or_non_numeric(text: str) -> None:
    with pytest.raises(InvalidAmount):
        yuan_to_fen(text)


def test_yuan_to_fen_rejects_non_strings() -> None:
    with pytest.raises(InvalidAmount):
        yuan_to_fen(12.34)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [-1, 1.5, True, "12"])
def test_fen_to_yuan_rejects_negative_and_non_int(value: object) -> None:
    with pytest.raises(InvalidAmount):
        fen_to_yuan(value)  # type: ignore[arg-type]


@given(FEN)
def test_fen_round_trips_through_yuan(fen: int) -> None:
    text = fen_to_yuan(fen)
    assert yuan_to_fen(text) == fen
    assert text.count(".") == 1 and len(text.split(".")[1]) == 2


@given(FEN)
def test_fen_to_yuan_agrees_with_decimal(fen: int) -> None:
    assert Decimal(fen_to_yuan(fen)) == Decimal(fen) / 100


@given(st.integers(min_value=0, max_value=10**13 - 1), st.text(alphabet="0123456789", min_size=0, max_size=2))
def test_any_valid_yuan_string_equals_decimal_times_100(whole: int, frac: str) -> None:
    text = f"{whole}.{frac}" if frac else str(whole)
    assert yuan_to_fen(text) == int(Decimal(text) * 100)


@given(st.integers(min_value=0, max_value=10**9), st.text(alphabet="0123456789", min_size=3, max_size=6))
def test_more_than_two_decimals_is_always_rejected(whole: int, frac: str) -> None:
    with pytest.raises(InvalidAmount):
        yuan_to_fen(f"{whole}.{frac}")
