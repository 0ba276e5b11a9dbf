"""Content screen for task texts: normalise against evasion, then apply the data rules in content_rules.toml.

`screen(...)` is pure: the rules are read from the packaged TOML file once, on first use, and cached for the
life of the process, so a cold start pays for parsing only when a task is actually screened.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from chalicelib.domain.tasks import CATEGORIES

__all__ = ["CATEGORIES", "Hit", "Verdict", "load_rules", "normalise", "parse_rules", "screen"]

ACTIONS = ("reject", "review")
VIEWS = ("compact", "loose")
RULES_RESOURCE = "content_rules.toml"

_RULE_ID = re.compile(r"^R-[A-Z]+(?:-[A-Z]+)*-\d{2}$")
# Invisible, combining and spacing characters carry no meaning in a task text, so evasion hides in them.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me", "Zs", "Zl", "Zp"})
# A negation reaches to the end of its clause; these end a clause in the ORIGINAL text ("、" does not, so
# "不收押金、保证金" negates both, and a comma followed by 例如 continues the list it introduces).
_CLAUSE_BREAK = re.compile(r"[，。；！？,.;!?\n\r](?!\s*(?:例如|比如|譬如|诸如|包括))")
# The end of a sentence, to tell whether a match sits inside a question.
_SENTENCE_END = re.compile(r"[。！？!?\n\r；;]")

CLEAN_REASON = "未发现违规内容，已进入人工审核。"
FLAGGED_PREFIX = "未发现明确违规，已进入人工审核，审核员将重点核对："


@dataclass(frozen=True)
class Hit:
    """One rule that fired, with the fragment of the merchant's own text that made it fire."""

    rule_id: str
    harm: str
    action: str  # reject | review (after any per-category downgrade)
    field: str | None  # "title", "description", "steps[2]", "proof_text"; None for an absence rule
    matched: str | None


@dataclass(frozen=True)
class Verdict:
    """The screen's answer.

    `allowed` False means reject now with `rule_id` and `reason`. `allowed` True means the task goes to the
    human review queue; `needs_review` True marks it as flagged by a soft rule (`rule_id` is then that
    rule), so the queue can show reviewers what to look at first. `hits` lists every rule that fired.
    """

    allowed: bool
    rule_id: str | None
    reason: str
    matched: str | None
    needs_review: bool
    hits: tuple[Hit, ...] = ()

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(h.rule_id for h in self.hits if h.action == "review")


@dataclass(frozen=True)
class NormText:
    """Normalised text; `starts[i]:ends[i]` is the slice of the original text that character i came from."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]


def _rewrite(norm: NormText, pattern: re.Pattern[str], replacement: str) -> NormText:
    """`pattern.sub` that keeps every output character pointing back at the original text."""
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in pattern.finditer(norm.text):
        s, e = m.span()
        if s == e:
            continue
        pieces.append(norm.text[pos:s])
        starts.extend(norm.starts[pos:s])
        ends.extend(norm.ends[pos:s])
        new = m.expand(replacement)
        pieces.append(new)
        starts.extend([norm.starts[s]] * len(new))
        ends.extend([norm.ends[e - 1]] * len(new))
        pos = e
    if not pieces:
        return norm
    pieces.append(norm.text[pos:])
    starts.extend(norm.starts[pos:])
    ends.extend(norm.ends[pos:])
    return NormText("".join(pieces), tuple(starts), tuple(ends))


@dataclass(frozen=True)
class Normaliser:
    char_map: dict[str, str]
    numerals: dict[str, str]
    numeral_run: re.Pattern[str]
    variants: tuple[tuple[re.Pattern[str], str], ...]

    def loose(self, text: str) -> NormText:
        """NFKC, lower case, char map; invisible characters and whitespace dropped, punctuation kept."""
        out: list[str] = []
        starts: list[int] = []
        for i, ch in enumerate(text):
            for c in unicodedata.normalize("NFKC", ch).lower():
                c = self.char_map.get(c, c)
                if unicodedata.category(c) in _DROPPED_CATEGORIES or c.isspace():
                    continue
                out.append(c)
                starts.append(i)
        return NormText("".join(out), tuple(starts), tuple(s + 1 for s in starts))

    def compact(self, loose: NormText) -> NormText:
        """Letters and digits only, Chinese-numeral runs as digits, then the variant rewrites."""
        keep = [i for i, c in enumerate(loose.text) if c == "+" or unicodedata.category(c)[0] in "LN"]
        norm = NormText(
            "".join(loose.text[i] for i in keep),
            tuple(loose.starts[i] for i in keep),
            tuple(loose.ends[i] for i in keep),
        )
        text = self.numeral_run.sub(lambda m: "".join(self.numerals.get(c, c) for c in m.group()), norm.text)
        norm = NormText(text, norm.starts, norm.ends)  # same length, so the spans still line up
        for pattern, replacement in self.variants:
            norm = _rewrite(norm, pattern, replacement)
        # "+" survived only so that "+v"/"➕V" could be read as 加微信; as noise between characters it goes.
        return _rewrite(norm, _PLUS, "")


_PLUS = re.compile(r"\+")


@dataclass(frozen=True)
class Negation:
    """Decides whether a match sits in a negated or condemning context ("禁止刷单", "刷单都是诈骗")."""

    scoped: re.Pattern[str]  # strong negators that reach to the end of the clause
    adjacent: re.Pattern[str]  # weak negators that must sit right before the match (fillers allowed)
    after: re.Pattern[str]  # condemnation right after the match
    window: int
    question_categories: frozenset[str]  # where a match inside a question is a topic, not an instruction

    def negated(self, norm: NormText, original: str, s: int, e: int, category: str) -> bool:
        text = norm.text
        if category in self.question_categories and _in_question(original, norm.starts[s]):
            return True
        if self.after.match(text, e):
            return True
        lo = max(0, s - self.window)
        if self.adjacent.search(text, lo, s):
            return True
        for m in self.scoped.finditer(text, lo, s):
            if not _CLAUSE_BREAK.search(original, norm.ends[m.end() - 1], norm.starts[s]):
                return True
        return False


def _in_question(original: str, pos: int) -> bool:
    end = _SENTENCE_END.search(original, pos)
    return end is not None and end.group() in "？?"


@dataclass(frozen=True)
class Rule:
    id: str
    harm: str
    action: str
    description: str
    reason: str
    match: re.Pattern[str] | None
    with_: tuple[re.Pattern[str], ...]
    unless: re.Pattern[str] | None
    only_in: frozenset[str]
    not_in: frozenset[str]
    review_in: frozenset[str]
    negatable: bool
    view: str

    def applies_to(self, category: str) -> bool:
        if self.only_in and category not in self.only_in:
            return False
        return category not in self.not_in

    def action_for(self, category: str) -> str:
        return "review" if category in self.review_in else self.action


@dataclass(frozen=True)
class RuleSet:
    normaliser: Normaliser
    negation: Negation
    rules: tuple[Rule, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.rules)


@dataclass
class _Document:
    """The fields of one task, normalised lazily per view and cached for the rules that follow."""

    normaliser: Normaliser
    fields: list[tuple[str, str]]
    category: str
    _views: dict[str, list[NormText]] = field(default_factory=dict)

    def view(self, name: str) -> Iterator[tuple[str, str, NormText]]:
        if name not in self._views:
            loose = [self.normaliser.loose(text) for _, text in self.fields]
            self._views["loose"] = loose
            self._views["compact"] = [self.normaliser.compact(n) for n in loose]
        for (label, original), norm in zip(self.fields, self._views[name], strict=True):
            yield label, original, norm

    def find(self, pattern: re.Pattern[str], view: str, negation: Negation | None) -> tuple[str, str] | None:
        """First non-negated match as (field label, original fragment)."""
        for label, original, norm in self.view(view):
            last_negated_end = -1
            for m in pattern.finditer(norm.text):
                s, e = m.span()
                if s == e:
                    continue
                if negation is not None:
                    # A list after one negator ("不收押金、保证金") arrives as back-to-back matches.
                    chained = last_negated_end >= 0 and s - last_negated_end <= 2
                    if chained or negation.negated(norm, original, s, e, self.category):
                        last_negated_end = e
                        continue
                return label, original[norm.starts[s] : norm.ends[e - 1]].strip()
        return None


def screen(
    title: str,
    description: str,
    steps: Sequence[str],
    category: str,
    proof_text: str | None = None,
) -> Verdict:
    """Screen a task's texts. Rejects on the first reject rule (in file order) that fires; otherwise allows."""
    ruleset = load_rules()
    fields = [("title", title or ""), ("description", description or "")]
    fields += [(f"steps[{i}]", step or "") for i, step in enumerate(steps)]
    if proof_text:
        fields.append(("proof_text", proof_text))
    doc = _Document(ruleset.normaliser, fields, category)

    hits: list[Hit] = []
    for rule in ruleset.rules:
        if not rule.applies_to(category):
            continue
        hit = _evaluate(rule, doc, ruleset.negation, category)
        if hit is not None:
            hits.append(hit)

    by_id = {r.id: r for r in ruleset.rules}
    for hit in hits:
        if hit.action == "reject":
            reason = by_id[hit.rule_id].reason
            if hit.matched:
                reason = f"{reason}（命中规则 {hit.rule_id}：“{hit.matched}”）"
            return Verdict(False, hit.rule_id, reason, hit.matched, False, tuple(hits))
    if hits:
        first = hits[0]
        return Verdict(
            True, first.rule_id, FLAGGED_PREFIX + by_id[first.rule_id].reason, first.matched, True, tuple(hits)
        )
    return Verdict(True, None, CLEAN_REASON, None, False, ())


def _evaluate(rule: Rule, doc: _Document, negation: Negation, category: str) -> Hit | None:
    neg = negation if rule.negatable else None
    if rule.unless is not None and doc.find(rule.unless, rule.view, None) is not None:
        return None
    if rule.match is None:
        return Hit(rule.id, rule.harm, rule.action_for(category), None, None)
    found = doc.find(rule.match, rule.view, neg)
    if found is None:
        return None
    for group in rule.with_:
        if doc.find(group, rule.view, neg) is None:
            return None
    return Hit(rule.id, rule.harm, rule.action_for(category), found[0], found[1])


def normalise(text: str) -> str:
    """The compact form the rules are matched against; exposed for tests and for tuning the rules."""
    n = load_rules().normaliser
    return n.compact(n.loose(text)).text


@cache
def load_rules() -> RuleSet:
    """Parse and compile the packaged rules once per process."""
    raw = resources.files(__package__).joinpath(RULES_RESOURCE).read_text(encoding="utf-8")
    return parse_rules(tomllib.loads(raw))


def parse_rules(data: dict[str, Any]) -> RuleSet:
    """Build a RuleSet from the TOML document; raises ValueError naming the offending rule."""
    norm = data["normalise"]
    char_map = _pairs(norm["char_map"])
    numerals = _pairs(norm["numerals"])
    digit_chars = "0-9" + "".join(re.escape(c) for c in numerals)
    normaliser = Normaliser(
        char_map=char_map,
        numerals=numerals,
        numeral_run=re.compile(f"[{digit_chars}]{{{int(norm['numeral_run_min'])},}}"),
        variants=tuple((re.compile(v["pattern"]), v["replace"]) for v in norm.get("variant", [])),
    )

    neg = data["negation"]
    fillers = _alternation(neg["fillers"])
    conj = _alternation(neg["conjunctions"])
    tail = f"(?:{fillers}){{0,3}}(?:.{{1,4}}?(?:{conj}))?(?:{fillers}){{0,2}}$"
    negation = Negation(
        scoped=re.compile(_alternation(neg["scoped"])),
        adjacent=re.compile(f"(?:{'|'.join(neg['adjacent'])}){tail}"),
        after=re.compile(neg["after"]),
        window=int(neg["window"]),
        question_categories=frozenset(neg.get("question_categories", [])),
    )

    rules: list[Rule] = []
    seen: set[str] = set()
    for item in data["rule"]:
        rules.append(_parse_rule(item, seen))
    return RuleSet(normaliser, negation, tuple(rules))


def _parse_rule(item: dict[str, Any], seen: set[str]) -> Rule:
    rid = item.get("id", "")
    if not _RULE_ID.match(rid):
        raise ValueError(f"content rule id {rid!r} is not of the form R-HARM-NN")
    if rid in seen:
        raise ValueError(f"content rule id {rid} is used twice")
    seen.add(rid)
    action = item.get("action")
    if action not in ACTIONS:
        raise ValueError(f"{rid}: action must be one of {ACTIONS}")
    view = item.get("view", "compact")
    if view not in VIEWS:
        raise ValueError(f"{rid}: view must be one of {VIEWS}")
    for key in ("only_in", "not_in", "review_in"):
        unknown = set(item.get(key, [])) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"{rid}: unknown categories in {key}: {sorted(unknown)}")
    if not item.get("match") and not item.get("unless"):
        raise ValueError(f"{rid}: a rule needs `match` or `unless`")
    if not item.get("reason") or not item.get("harm"):
        raise ValueError(f"{rid}: `reason` and `harm` are required")
    try:
        return Rule(
            id=rid,
            harm=item["harm"],
            action=action,
            description=item.get("description", ""),
            reason=item["reason"],
            match=_compile(item.get("match")),
            with_=tuple(p for p in (_compile(g) for g in item.get("with", [])) if p is not None),
            unless=_compile(item.get("unless")),
            only_in=frozenset(item.get("only_in", [])),
            not_in=frozenset(item.get("not_in", [])),
            review_in=frozenset(item.get("review_in", [])),
            negatable=bool(item.get("negatable", False)),
            view=view,
        )
    except re.error as exc:
        raise ValueError(f"{rid}: bad pattern: {exc}") from exc


def _compile(patterns: list[str] | None) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def _alternation(words: list[str]) -> str:
    # Longest first, so "不收取" is tried before "不收".
    return "|".join(sorted(words, key=len, reverse=True))


def _pairs(spec: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for token in spec.split():
        if len(token) != 2:
            raise ValueError(f"content rules: map entry {token!r} is not two characters")
        out[token[0]] = token[1]
    return out
