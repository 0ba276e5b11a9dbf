"""The task hall in the table: one small entry per (task, partition) it is listed in, and the merged reads.

A listed task (published, slots left) has entries in the base table (docs/decisions/0061-task-hall.md):
- `HALL#N#<scope>#<band|*>` newest first, `HALL#E#<scope>#<band|*>` ending soonest first — scope is `ALL` and the
  task's category, band its reward band (`*` = every band);
- `HALL#R#<scope>` by reward (then newest) and `HALL#RE#<scope>` by reward (then ending), which serve the reward
  sort and, for one exact reward value, the newest/ending sorts;
- for tasks with a GPS check-in point, `HALL#G<res>#<cell>#<N|E|R>` for the H3 cell holding it at each hall
  resolution.
The sort key starts with the member boost (`keys.hall_sk`), so in read order members' tasks come first.

Entries are written and deleted in the same transactions that publish, pause, resume, cancel and end a task,
and re-synced from the table stream when a claim changes `slots_left` (`sync`). A read merges the few
partitions a query needs, lazily: a partition is read only when its next possible entry could be the next one
on the page, and in pages sized by how fast it has been contributing, so little is read that is not returned.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pynamodb.attributes import BooleanAttribute, JSONAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.domain import hall as H
from chalicelib.store import keys, tx
from chalicelib.store.base import Item
from chalicelib.store.tasks import TaskItem

Op = Callable[[tx.Tx], None]
SCOPE_ALL = "ALL"


class HallEntry(Item, discriminator="hall_entry"):
    task_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    title = UnicodeAttribute()
    category = UnicodeAttribute()
    reward_fen = NumberAttribute()
    slots_left = NumberAttribute()
    ends_at = UnicodeAttribute()
    published_at = UnicodeAttribute()
    member_boost = BooleanAttribute(default=False)
    eligibility = JSONAttribute()
    lat = NumberAttribute(null=True)
    lng = NumberAttribute(null=True)


@dataclass(frozen=True)
class HallTask:
    """What the hall needs of a task, from a TaskItem or from a stream image."""

    task_id: str
    merchant_id: str
    title: str
    category: str
    reward_fen: int
    slots_left: int
    ends_at: str
    published_at: str
    member_boost: bool
    eligibility: dict[str, Any]
    gps: dict[str, Any] | None
    status: str
    parked: int = 0  # a hot task's slots handed to its shards (store/slot_shards.py): free until claimed

    @classmethod
    def from_item(cls, t: TaskItem) -> HallTask:
        return cls(
            task_id=t.task_id,
            merchant_id=t.merchant_id,
            title=t.title,
            category=t.category,
            reward_fen=int(t.reward_fen),
            slots_left=int(t.slots_left or 0),
            ends_at=t.ends_at,
            published_at=t.published_at or t.created_at,
            member_boost=bool(t.member_boost),
            eligibility=dict(t.eligibility or {}),
            gps=(t.proof or {}).get("gps"),
            status=t.status,
            parked=int(t.parked or 0),
        )

    @classmethod
    def from_image(cls, img: Mapping[str, Any]) -> HallTask:
        def js(value: Any) -> dict[str, Any]:
            if value is None:
                return {}
            return dict(json.loads(value) if isinstance(value, str) else value)

        return cls(
            task_id=str(img["task_id"]),
            merchant_id=str(img["merchant_id"]),
            title=str(img["title"]),
            category=str(img["category"]),
            reward_fen=int(img["reward_fen"]),
            slots_left=int(img.get("slots_left") or 0),
            ends_at=str(img["ends_at"]),
            published_at=str(img.get("published_at") or img["created_at"]),
            member_boost=bool(img.get("member_boost")),
            eligibility=js(img.get("eligibility")),
            gps=js(img.get("proof")).get("gps"),
            status=str(img["status"]),
            parked=int(img.get("parked") or 0),
        )

    @property
    def free(self) -> int:
        """Free slots as the hall shows them: the pool plus what its shards may still hold (an upper bound
        until the shards run dry and are folded back)."""
        return self.slots_left + self.parked

    @property
    def listable(self) -> bool:
        return H.listable(self.status, self.free)


def _boost(sort: str, member: bool) -> str:
    # Descending partitions read "1" before "0"; ascending ones "0" before "1": members first either way.
    if sort in ("N", "R"):
        return "1" if member else "0"
    return "0" if member else "1"


def _sk(sort: str, t: HallTask) -> str:
    return keys.hall_sk(
        sort,
        _boost(sort, t.member_boost),
        t.task_id,
        published=t.published_at,
        ends_at=t.ends_at,
        reward_fen=t.reward_fen,
    )


def partitions(t: HallTask) -> list[tuple[str, str]]:
    """Every (PK, SK) the task is listed under."""
    bands = [H.ALL_BANDS, *H.bands_of(t.reward_fen)]
    out: list[tuple[str, str]] = []
    for scope in (SCOPE_ALL, t.category):
        for sort in ("N", "E"):
            out += [(keys.hall(sort, scope, band), _sk(sort, t)) for band in bands]
        for sort in ("R", "RE"):
            out.append((keys.hall(sort, scope), _sk(sort, t)))
    if t.gps:
        for res, cell in H.cells_of(float(t.gps["lat"]), float(t.gps["lng"])).items():
            for sort in ("N", "E", "R"):
                out.append((keys.hall_geo(res, cell, sort), _sk(sort, t)))
    return out


def _entry(pk: str, sk: str, t: HallTask) -> HallEntry:
    return HallEntry(
        PK=pk,
        SK=sk,
        task_id=t.task_id,
        merchant_id=t.merchant_id,
        title=t.title,
        category=t.category,
        reward_fen=t.reward_fen,
        slots_left=t.free,
        ends_at=t.ends_at,
        published_at=t.published_at,
        member_boost=t.member_boost,
        eligibility=t.eligibility,
        lat=float(t.gps["lat"]) if t.gps else None,
        lng=float(t.gps["lng"]) if t.gps else None,
    )


def entries(t: HallTask) -> list[HallEntry]:
    return [_entry(pk, sk, t) for pk, sk in partitions(t)]


def put_ops(t: HallTask) -> Op:
    """List the task (or refresh its entries): one put per partition, for the caller's transaction."""

    def apply(txn: tx.Tx) -> None:
        for i, entry in enumerate(entries(t)):
            txn.put(entry, label=f"hall:{i}")

    return apply


def delete_ops(*tasks: HallTask) -> Op:
    """Take the task out of the hall (entries of every given shape of it; deleting a missing entry is a no-op)."""

    def apply(txn: tx.Tx) -> None:
        seen: dict[tuple[str, str], None] = {}
        for t in tasks:
            seen.update(dict.fromkeys(partitions(t)))
        for i, (pk, sk) in enumerate(seen):
            txn.delete(HallEntry(PK=pk, SK=sk), label=f"hall:{i}")

    return apply


def sync(new: HallTask, old: HallTask | None) -> bool:
    """Make the entries match `new`, if the task is still exactly in that state. False when it moved on (a later
    stream record carries the newer state, so nothing is lost) — this keeps a slow consumer from resurrecting
    entries that a pause or an end removed a moment ago."""
    pk, sk = keys.task(new.task_id)
    still = (TaskItem.status == new.status) & (TaskItem.slots_left == new.slots_left)
    if new.parked:
        still = still & (TaskItem.parked == new.parked)
    else:
        still = still & (TaskItem.parked.does_not_exist() | (TaskItem.parked == 0))

    def build() -> tx.Tx:
        txn = tx.Tx()
        txn.check(TaskItem, pk, sk, still, label="task")
        if new.listable:
            put_ops(new)(txn)
            if old is not None and set(partitions(old)) != set(partitions(new)):
                stale = set(partitions(old)) - set(partitions(new))
                for i, (spk, ssk) in enumerate(sorted(stale)):
                    txn.delete(HallEntry(PK=spk, SK=ssk), label=f"stale:{i}")
        else:
            delete_ops(*([new] + ([old] if old else [])))(txn)
        return txn

    try:
        tx.run(build, lambda txn: txn.commit())
    except tx.TxCancelled as exc:
        if "task" in exc.failed:
            return False
        raise
    return True


# ---------------------------------------------------------------- reading: streams and the lazy merge


def _pred(rank: str) -> str:
    """The greatest bound below `rank` among same-length keys (every hall key in one partition has one length)."""
    return rank[:-1] + chr(ord(rank[-1]) - 1) + "~"


def _succ(rank: str) -> str:
    return rank + "!"


@dataclass(frozen=True)
class Stream:
    """One sorted run of entries: a partition (or one boost segment of it) between two ranks.

    A rank is `<boost>#<order suffix>`, the same for every stream of one query, so ranks from different
    partitions compare directly. The entry's SK is the rank with `mid` put after the boost (`mid` pins one
    reward value in the R/RE partitions).
    """

    pk: str
    lo: str  # lowest rank (inclusive)
    hi: str  # highest rank (inclusive)
    forward: bool  # True: ascending (ending soonest first); False: descending
    mid: str = ""
    reward_range: tuple[int, int] | None = None  # kept only inside this range (a band partly in the query)

    def sk_of(self, rank: str) -> str:
        return rank[:2] + self.mid + rank[2:]

    def rank_of(self, sk: str) -> str:
        return sk[:2] + sk[2 + len(self.mid) :]

    def after(self, rank: str | None) -> Stream | None:
        """This stream resumed after `rank` in read order; None when nothing of it is left."""
        lo, hi = self.lo, self.hi
        if rank is not None:
            if self.forward:
                lo = max(lo, _succ(rank))
            else:
                hi = min(hi, _pred(rank))
        if lo > hi:
            return None
        return Stream(self.pk, lo, hi, self.forward, self.mid, self.reward_range)


@dataclass
class ReadStats:
    queries: int = 0
    items_read: int = 0


@dataclass
class _Run:
    stream: Stream
    buffer: deque[HallEntry] = field(default_factory=deque)
    frontier: str = ""  # the best rank this stream could still yield
    done: bool = False
    started: bool = False
    consumed: int = 0
    last_sk: str | None = None
    fetched: int = 0  # size of the last read
    mark: tuple[int, int] = (0, 0)  # (entries this run had consumed, entries all runs had consumed) at that read

    def __post_init__(self) -> None:
        self.frontier = self.stream.lo if self.stream.forward else self.stream.hi


def _query(run: _Run, n: int, stats: ReadStats) -> None:
    s = run.stream
    lo_sk, hi_sk = s.sk_of(s.lo), s.sk_of(s.hi)
    if run.last_sk is not None:  # continue this request's own read
        if s.forward:
            lo_sk = _succ(run.last_sk)
        else:
            hi_sk = _pred(run.last_sk)
    stats.queries += 1
    result = HallEntry.query(
        s.pk, HallEntry.SK.between(lo_sk, hi_sk), scan_index_forward=s.forward, limit=n, page_size=n
    )
    got = list(result)
    stats.items_read += len(got)
    run.started = True
    run.buffer.extend(got)
    if got:
        run.last_sk = got[-1].SK
    run.done = len(got) < n or result.last_evaluated_key is None


@dataclass
class Merged:
    items: list[HallEntry]
    last_rank: str | None  # resume after this rank; None = nothing left
    stats: ReadStats


def merge(
    streams: Iterable[Stream],
    *,
    forward: bool,
    limit: int,
    keep: Callable[[HallEntry], bool],
    stats: ReadStats,
    first_read: int = 2,
) -> Merged:
    """The first `limit` entries in rank order across `streams` that pass `keep` (and their own reward range).

    `first_read` sizes a stream's reads while several share the page: small where every entry read is likely
    kept (reward bands), larger where `keep` throws most away (geo cells hold more than the circle)."""
    runs = [_Run(s) for s in streams]
    out: list[HallEntry] = []
    last: str | None = None
    taken = 0  # entries consumed from all runs

    def better(a: str, b: str) -> bool:
        return a < b if forward else a > b

    while len(out) < limit:
        # The best candidate: a buffered head, or the frontier of a run we have not read far enough.
        best: _Run | None = None
        best_rank = ""
        for run in runs:
            if run.buffer:
                rank = run.stream.rank_of(run.buffer[0].SK)
            elif not run.done:
                rank = run.frontier
            else:
                continue
            if best is None or better(rank, best_rank):
                best, best_rank = run, rank
        if best is None:
            break
        if not best.buffer:
            n = _page_size(best, runs, limit - len(out), taken, first_read)
            best.fetched, best.mark = n, (best.consumed, taken)
            _query(best, n, stats)
            if not best.buffer:
                continue
            best.frontier = best.stream.rank_of(best.buffer[-1].SK)
            continue
        entry = best.buffer.popleft()
        best.consumed += 1
        taken += 1
        last = best.stream.rank_of(entry.SK)
        rr = best.stream.reward_range
        if rr is not None and not rr[0] <= int(entry.reward_fen) <= rr[1]:
            continue
        if keep(entry):
            out.append(entry)
    more = any(run.buffer or not run.done for run in runs)
    return Merged(out, last if more else None, stats)


def _page_size(run: _Run, runs: list[_Run], remaining: int, taken: int, first_read: int) -> int:
    """How many entries to read from `run` now. Alone, everything the page still needs plus one to see past it.
    Among several runs, a small read — each read entry a run does not contribute is waste — doubled while the
    run keeps supplying every entry of the page on its own (one dominant band reads in a few queries)."""
    need = remaining + 1
    if all(_behind(other, run) for other in runs if other is not run and (other.buffer or not other.done)):
        return need
    own, all_ = run.mark
    solo = run.fetched and (run.consumed - own) == (taken - all_)
    return min(need, 2 * run.fetched if solo else first_read)


def _behind(other: _Run, run: _Run) -> bool:
    """True when nothing `other` can still yield comes before the last rank `run` could yield — e.g. the
    non-members' segment behind the members' one: `run` is then alone for as far as it goes."""
    s = run.stream
    head = other.stream.rank_of(other.buffer[0].SK) if other.buffer else other.frontier
    return head > s.hi if s.forward else head < s.lo


# ---------------------------------------------------------------- which streams a query reads

_SORT_CODE = {H.Sort.NEWEST: "N", H.Sort.ENDING: "E", H.Sort.REWARD: "R"}


def plan(
    sort: H.Sort,
    category: str | None,
    min_fen: int | None,
    max_fen: int | None,
    *,
    geo: tuple[int, list[str]] | None,
    now_iso: str,
) -> tuple[list[Stream], bool]:
    """The streams that hold exactly (or, for partial bands and geo, nearly) what a hall query asks for, and
    whether they are read ascending."""
    forward = sort == H.Sort.ENDING
    ranged = min_fen is not None or max_fen is not None
    lo_r = H.MIN_REWARD_FEN if min_fen is None else max(min_fen, H.MIN_REWARD_FEN)
    hi_r = H.MAX_REWARD_FEN if max_fen is None else min(max_fen, H.MAX_REWARD_FEN)
    # Ending: members' segment starts after now; the others' tail of already-ended tasks (gone at the next
    # sweep, within a minute) is filtered on read rather than split into a second stream.
    whole = (f"0#{now_iso}#~", "1#~") if forward else ("0#", "1#~")

    def by_reward(pk: str) -> list[Stream]:
        if not ranged:
            return [Stream(pk, "0#", "1#~", False)]
        return [Stream(pk, f"{b}#{lo_r:07d}#", f"{b}#{hi_r:07d}#~", False) for b in ("1", "0")]

    if geo is not None:
        res, cells = geo
        code = _SORT_CODE[sort]
        out: list[Stream] = []
        for cell in cells:
            pk = keys.hall_geo(res, cell, code)
            if sort == H.Sort.REWARD:
                out += by_reward(pk)
            else:
                out.append(Stream(pk, *whole, forward, reward_range=(lo_r, hi_r) if ranged else None))
        return out, forward

    scope = category or SCOPE_ALL
    if sort == H.Sort.REWARD:
        return by_reward(keys.hall("R", scope)), False
    code = _SORT_CODE[sort]
    parts = H.band_parts(lo_r, hi_r) if ranged else []
    if not ranged or (lo_r, hi_r) == (H.MIN_REWARD_FEN, H.MAX_REWARD_FEN):
        return [Stream(keys.hall(code, scope, H.ALL_BANDS), *whole, forward)], forward
    out = []
    for part in parts:
        band_pk = keys.hall(code, scope, part.label)
        if part.full:
            out.append(Stream(band_pk, *whole, forward))
        elif part.few_values:
            # One to three reward values: the R/RE partition holds each value contiguously, in this sort's order.
            pk = keys.hall("RE" if forward else "R", scope)
            for value in range(part.lo, part.hi + 1):
                mid = f"{value:07d}#"
                if forward:
                    out += [Stream(pk, f"0#{now_iso}#~", "0#~", True, mid), Stream(pk, "1#", "1#~", True, mid)]
                else:
                    out += [Stream(pk, "1#", "1#~", False, mid), Stream(pk, "0#", "0#~", False, mid)]
        else:
            out.append(Stream(band_pk, *whole, forward, reward_range=(part.lo, part.hi)))
    return out, forward
