"""Content-screen quality report over the labelled corpus: precision, recall, F1, per-harm recall, misses.

Run from the repository root: `python -m scripts.screen_report [--corpus PATH] [--split dev|holdout]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.domain.content_policy import Verdict, load_rules, screen

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "task_corpus.jsonl"


@dataclass(frozen=True)
class Outcome:
    row: dict[str, Any]
    verdict: Verdict

    @property
    def expected_reject(self) -> bool:
        return self.row["label"] == "reject"

    @property
    def rejected(self) -> bool:
        return not self.verdict.allowed

    @property
    def right_rule(self) -> bool:
        """A correct rejection that also names the expected harm family."""
        prefix = self.row.get("expected_rule_prefix") or ""
        rule_id = self.verdict.rule_id
        return self.rejected and rule_id is not None and rule_id.startswith(prefix + "-")


@dataclass
class Report:
    outcomes: list[Outcome]
    seconds_per_screen: list[float] = field(default_factory=list)

    def _count(self, expected: bool, rejected: bool) -> int:
        return sum(1 for o in self.outcomes if o.expected_reject == expected and o.rejected == rejected)

    @property
    def tp(self) -> int:
        return self._count(True, True)

    @property
    def fp(self) -> int:
        return self._count(False, True)

    @property
    def fn(self) -> int:
        return self._count(True, False)

    @property
    def tn(self) -> int:
        return self._count(False, False)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def false_positives(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.expected_reject and o.rejected]

    @property
    def false_negatives(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.expected_reject and not o.rejected]

    @property
    def wrong_rule(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.expected_reject and o.rejected and not o.right_rule]

    def recall_by_harm(self) -> dict[str, tuple[int, int]]:
        """expected rule prefix -> (rejected, total)."""
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for o in self.outcomes:
            if o.expected_reject:
                cell = out[o.row["expected_rule_prefix"]]
                cell[1] += 1
                cell[0] += int(o.rejected)
        return {k: (v[0], v[1]) for k, v in sorted(out.items())}

    def flagged_allowed(self) -> Counter[str]:
        return Counter(
            o.verdict.rule_id
            for o in self.outcomes
            if o.verdict.allowed and o.verdict.needs_review and o.verdict.rule_id is not None
        )


def load_corpus(path: Path = CORPUS, split: str | None = None) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split is None or r.get("split") == split]


def evaluate(rows: list[dict[str, Any]]) -> Report:
    load_rules()  # parse once outside the timed loop, as a warm Lambda would
    report = Report([])
    for row in rows:
        t0 = time.perf_counter()
        verdict = screen(row["title"], row["description"], row["steps"], row["category"], row.get("proof_text"))
        report.seconds_per_screen.append(time.perf_counter() - t0)
        report.outcomes.append(Outcome(row, verdict))
    return report


def confusion_lines(report: Report) -> list[str]:
    return [
        "                 screen: reject   screen: allow",
        f"label: reject    {report.tp:>14}   {report.fn:>13}",
        f"label: allow     {report.fp:>14}   {report.tn:>13}",
    ]


def _describe(o: Outcome) -> str:
    v = o.verdict
    return f"  {o.row['id']:<22} rule={v.rule_id} matched={v.matched!r} note={o.row.get('note', '')}"


def render(report: Report, title: str = "content screen") -> str:
    lines = [f"== {title}: {len(report.outcomes)} texts =="]
    lines += confusion_lines(report)
    lines.append(f"precision {report.precision:.3f}  recall {report.recall:.3f}  F1 {report.f1:.3f}")
    lines.append("recall by harm (expected rule prefix):")
    for prefix, (hit, total) in report.recall_by_harm().items():
        lines.append(f"  {prefix:<16} {hit}/{total}  {hit / total:.2f}")
    right = sum(1 for o in report.outcomes if o.right_rule)
    lines.append(f"rejections naming the expected harm family: {right}/{report.tp}")
    lines.append(f"false positives ({report.fp}):")
    lines += [_describe(o) for o in report.false_positives] or ["  none"]
    lines.append(f"false negatives ({report.fn}):")
    lines += [_describe(o) for o in report.false_negatives] or ["  none"]
    lines.append(f"rejected under another harm family ({len(report.wrong_rule)}):")
    lines += [f"{_describe(o)} expected={o.row['expected_rule_prefix']}" for o in report.wrong_rule] or ["  none"]
    flagged = report.flagged_allowed()
    allowed = sum(1 for o in report.outcomes if o.verdict.allowed)
    lines.append(f"allowed but flagged for extra review: {sum(flagged.values())}/{allowed}  {dict(flagged)}")
    if report.seconds_per_screen:
        ms = sorted(s * 1000 for s in report.seconds_per_screen)
        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
        lines.append(f"screen time per task: median {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument(
        "--split", choices=["dev", "holdout", "holdout2"], default=None, help="default: all rows, then each split"
    )
    args = parser.parse_args()
    t0 = time.perf_counter()
    load_rules()
    cold_ms = (time.perf_counter() - t0) * 1000
    rows = load_corpus(args.corpus, args.split)
    print(render(evaluate(rows), f"corpus {args.split or 'all'}"))
    if args.split is None:
        for split in sorted({r.get("split", "dev") for r in rows}):
            report = evaluate([r for r in rows if r.get("split", "dev") == split])
            print()
            print(f"-- split {split}: {len(report.outcomes)} texts --")
            print("\n".join(confusion_lines(report)))
            print(f"precision {report.precision:.3f}  recall {report.recall:.3f}  F1 {report.f1:.3f}")
    print(f"\nrules: {len(load_rules().rules)}; first load (parse + compile) {cold_ms:.1f} ms")


if __name__ == "__main__":
    main()
