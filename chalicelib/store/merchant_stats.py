"""A merchant's public track record (`USER#<merchant>`/`MERCHANT_STATS`), kept by the review transactions and
shown on hall items: average rating from workers, median review time (a histogram, domain/durations.py),
reject rate."""

from __future__ import annotations

from collections.abc import Callable

from pynamodb.attributes import NumberAttribute

from chalicelib.domain import durations as D
from chalicelib.store import keys, tx
from chalicelib.store.base import Item


class MerchantStats(Item, discriminator="merchant_stats"):
    reviewed_count = NumberAttribute(default=0)  # accepted + rejected by the merchant or the clock
    rejected_count = NumberAttribute(default=0)
    review_seconds_total = NumberAttribute(default=0)
    rating_sum = NumberAttribute(default=0)  # workers' 1–5 ratings of the merchant
    rating_count = NumberAttribute(default=0)
    # Review-time histogram `rt00` … `rt14`, one counter per bucket of domain/durations.py (declared in a loop:
    # the class body's namespace is where pynamodb finds attributes).
    locals().update({f"rt{i:02d}": NumberAttribute(default=0) for i in range(D.BUCKETS)})

    @property
    def median_review_s(self) -> int | None:
        return D.median([int(getattr(self, f"rt{i:02d}") or 0) for i in range(D.BUCKETS)])

    @property
    def average_rating(self) -> float | None:
        return round(int(self.rating_sum) / int(self.rating_count), 2) if self.rating_count else None

    @property
    def reject_rate(self) -> float | None:
        return round(int(self.rejected_count) / int(self.reviewed_count), 4) if self.reviewed_count else None

    @property
    def mean_review_s(self) -> int | None:
        return int(int(self.review_seconds_total) / int(self.reviewed_count)) if self.reviewed_count else None


def get(merchant_id: str) -> MerchantStats | None:
    pk, sk = keys.merchant_stats(merchant_id)
    try:
        return MerchantStats.get(pk, sk)
    except MerchantStats.DoesNotExist:
        return None


def batch_get(merchant_ids: list[str]) -> dict[str, MerchantStats]:
    found = MerchantStats.batch_get([keys.merchant_stats(m) for m in dict.fromkeys(merchant_ids)])
    return {s.PK.removeprefix("USER#"): s for s in found}


def review_ops(merchant_id: str, *, review_s: int, rejected: bool) -> Callable[[tx.Tx], None]:
    pk, sk = keys.merchant_stats(merchant_id)

    def apply(t: tx.Tx) -> None:
        actions = [
            MerchantStats.kind.set(MerchantStats),
            MerchantStats.reviewed_count.add(1),
            MerchantStats.review_seconds_total.add(review_s),
            getattr(MerchantStats, f"rt{D.bucket(review_s):02d}").add(1),
        ]
        if rejected:
            actions.append(MerchantStats.rejected_count.add(1))
        t.update(MerchantStats(PK=pk, SK=sk), actions, label="mstats")

    return apply


def rating_ops(merchant_id: str, rating: int) -> Callable[[tx.Tx], None]:
    pk, sk = keys.merchant_stats(merchant_id)

    def apply(t: tx.Tx) -> None:
        t.update(
            MerchantStats(PK=pk, SK=sk),
            [
                MerchantStats.kind.set(MerchantStats),
                MerchantStats.rating_sum.add(rating),
                MerchantStats.rating_count.add(1),
            ],
            label="mstats",
        )

    return apply
