"""Lexicon-driven parts of triage: flags, emotion, intensity, urgency, phase, sarcasm."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .lexicons import TENURE_CLAIMS, Hit, Lexicon, negated
from .result import FLAGS

_LEX = Lexicon()
_EXCLAIM = re.compile(r"!")
# r"\b[A-Z]{3,}\b", written to start with a class so the engine skips to capitals quickly
_SHOUT_WORD = re.compile(r"[A-Z](?<![\w][A-Z])[A-Z]{2,}(?![\w])")
_REPEAT = re.compile(r"(\w)\1{3,}")
_ANGRY_EMOJI = re.compile("[\U0001f620\U0001f621\U0001f624\U0001f92c\U0001f595]")
_SAD_EMOJI = re.compile("[\U0001f61e\U0001f622\U0001f62d\U0001f614\U0001f643\U0001f644\U0001f612]")
_HAPPY_EMOJI = re.compile("[\U0001f600-\U0001f60d\U0001f44d\U0001f64f\u2764\U0001f970\U0001f929]")
NEG_EMOJI = re.compile(_ANGRY_EMOJI.pattern[:-1] + _SAD_EMOJI.pattern[1:])
POS_EMOJI = _HAPPY_EMOJI
_NEG_EMOS = ("anger", "frustration", "disappointment", "worry")
_SCAN_CHARS = 20000  # lexicons look at up to 20k characters


@dataclass
class Analysis:
    raw: str
    low: str
    hits: dict[str, list[Hit]]
    sarcasm: bool

    def words(self, cat: str, n: int = 4) -> list[str]:
        seen: list[str] = []
        for h in self.hits.get(cat, []):
            if h.text not in seen:
                seen.append(h.text)
        return seen[:n]


def analyse(text: str) -> Analysis:
    raw = text[:_SCAN_CHARS]
    low = Lexicon.prepare(raw)
    hits = _LEX.find_all(low)
    n_sar, n_prob, n_frus = (
        len(hits["sarcasm_open"]),
        len(hits["problem"]),
        len(hits["frustration"]),
    )
    sarcasm = n_sar >= 2 or (n_sar == 1 and (n_frus >= 1 or n_prob >= 2))
    return Analysis(raw=raw, low=low, hits=hits, sarcasm=sarcasm)


def _found(emoji: re.Pattern[str], raw: str) -> bool:
    """``emoji.search(raw)``, skipped for ASCII text (every emoji is non-ASCII)."""
    return not raw.isascii() and emoji.search(raw) is not None


def kind_extras(a: Analysis) -> list[str]:
    """Lexicon evidence handed to the kind model as extra tokens."""
    out = []
    for cat in (
        "praise",
        "suggestion",
        "problem",
        "anger",
        "frustration",
        "disappointment",
        "worry",
        "leaving",
        "legal",
        "public",
        "safety",
        "time_critical",
    ):
        n = len(a.hits[cat])
        if n:
            out.append(f"__lex_{cat}__")
            if n >= 3:
                out.append(f"__lex_{cat}_3__")
    if a.sarcasm:
        out.append("__sarcasm__")
    if _found(_ANGRY_EMOJI, a.raw) or _found(_SAD_EMOJI, a.raw):
        out.append("__neg_emoji__")
    if _found(_HAPPY_EMOJI, a.raw):
        out.append("__pos_emoji__")
    return out


def flags(a: Analysis) -> tuple[list[str], list[str]]:
    found = [f for f in FLAGS if a.hits[f]]
    why = [f"{f}: {', '.join(a.words(f, 3))}" for f in found]
    return found, why


def emotion(a: Analysis, kind: str) -> tuple[str, float, list[str], list[str]]:
    """Return (emotion, intensity, emotion reasons, intensity reasons)."""
    score = {e: float(len(a.hits[e])) for e in (*_NEG_EMOS, "gratitude")}
    why_extra: list[str] = []
    if _found(_ANGRY_EMOJI, a.raw):
        score["anger"] += 1.0
        why_extra.append("angry emoji")
    if _found(_SAD_EMOJI, a.raw):
        score["disappointment"] += 0.5
        why_extra.append("sad/eye-roll emoji")
    if _found(_HAPPY_EMOJI, a.raw) and not a.sarcasm:
        score["gratitude"] += 0.5
        why_extra.append("happy emoji")
    if a.sarcasm:
        score["gratitude"] = 0.0
        score["frustration"] += 1.0
        why_extra.append(f"sarcasm: {', '.join(a.words('sarcasm_open', 2))}")
    if kind == "complaint":
        score["gratitude"] *= 0.25  # "thanks for your reply, however..."
    elif kind == "compliment":
        for e in _NEG_EMOS:
            score[e] *= 0.5
    best = max(score, key=lambda e: score[e])
    if score[best] <= 0:
        if kind == "complaint":
            best = "frustration" if a.hits["problem"] else "disappointment"
            why = ["complaint without emotion words", *a.words("problem", 3)]
            raw = 0.0
        elif kind == "compliment":
            best, why, raw = "gratitude", ["compliment without emotion words"], 0.0
        else:
            return (
                "neutral",
                0.05 if kind == "inquiry" else 0.1,
                ["no emotion words"],
                ["no emotion words"],
            )
    else:
        why = a.words(best) + why_extra
        raw = score[best] + 0.5 * sum(score[e] for e in score if e != best and e != "gratitude")
        if best == "gratitude":
            raw = score["gratitude"]

    # intensity: strength of the emotion words plus shape cues
    ints: list[str] = []
    n_int = len(a.hits["intensifier"])
    if n_int:
        raw += 0.4 * min(n_int, 3)
        ints.append(f"intensifiers: {', '.join(a.words('intensifier', 3))}")
    n_ex = a.raw.count("!", 0, 2000)  # == len(_EXCLAIM.findall(a.raw[:2000]))
    if n_ex:
        raw += 0.3 * min(n_ex, 4)
        ints.append(f"{n_ex} exclamation mark(s)")
    n_shout = len(_SHOUT_WORD.findall(a.raw[:2000]))
    if n_shout >= 1 and not a.raw.isupper():
        raw += 0.4 * min(n_shout, 3)
        ints.append("capitals for emphasis")
    elif a.raw.isupper() and len(a.raw) > 15:
        raw += 1.0
        ints.append("written in capitals")
    if _REPEAT.search(a.raw):
        raw += 0.3
        ints.append("stretched letters")
    if best != "gratitude":
        for f in ("legal", "public", "leaving"):
            if a.hits[f]:
                raw += 0.6
                ints.append(f"{f} threat")
    base = {"complaint": 0.2, "compliment": 0.15}.get(kind, 0.05)
    intensity = base + (1 - base) * (1 - math.exp(-0.45 * raw))
    ints = [*why[:3], *ints] if why else ints
    return best, round(min(intensity, 1.0), 3), why or ["lexicon"], ints or ["base level"]


def urgency(
    a: Analysis, kind: str, found_flags: list[str], emo: str, intensity: float
) -> tuple[str, str, list[str]]:
    tc = a.words("time_critical", 3)
    if "safety" in found_flags:
        return "critical", f"safety risk ({', '.join(a.words('safety', 2))})", a.words("safety")
    if kind in ("compliment", "suggestion"):
        why = [f"{kind}"] + [f"mentions {f}" for f in found_flags]
        return "low", f"{kind}; no safety risk", why
    if "vulnerable" in found_flags and tc:
        why = [*a.words("vulnerable", 2), *tc]
        return "critical", f"vulnerable customer with a time-critical need ({', '.join(why)})", why
    threats = [f for f in ("legal", "public", "leaving") if f in found_flags]
    if threats:
        why = [w for f in threats for w in a.words(f, 2)]
        return "high", f"{' + '.join(threats)} risk ({', '.join(why)})", why
    if "vulnerable" in found_flags:
        why = a.words("vulnerable", 3)
        return "high", f"vulnerable customer ({', '.join(why)})", why
    if tc and kind in ("complaint", "inquiry"):
        return "high", f"time-critical ({', '.join(tc)})", tc
    if kind == "complaint" and emo in ("anger", "frustration", "worry") and intensity >= 0.75:
        return "high", f"strong {emo} (intensity {intensity:.2f})", [f"{emo} {intensity:.2f}"]
    if kind == "complaint":
        return "normal", "complaint without risk signals", ["complaint"]
    return "low", f"{kind} without risk signals", [kind]


_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_NUMBER_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "a couple of": 2})
_VAGUE = re.compile(r"\b(?:a few|several|many|so many)\b")
_YEAR_NUMBER = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
_DIGITS = re.compile(r"\b(\d{1,2})\b")
_WORD_NUMBER = re.compile(
    r"\b(a couple of|twenty|thirty|forty|fifty|one|two|three|four|five|six|seven|eight|nine|ten"
    r"|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)"
    r"(?:[- ](one|two|three|four|five|six|seven|eight|nine)\b)?"
)
_DECADES = re.compile(r"\b(a|one|two|three) decades?\b")


_TENURE = re.compile(r"(?<![\w])(?:" + "|".join(f"(?:{p})" for p in TENURE_CLAIMS) + ")")
# How far before the word a claim ends with ("years", "2015") it may start, and after.
_TENURE_BEFORE, _TENURE_AFTER = 90, 40


def _tenure_claims(a: Analysis) -> list[str]:
    """The tenure claims around the lexicon's tenure words, not negated, in text order."""
    found: list[str] = []
    done_until = -1
    for hit in a.hits.get("tenure", ()):
        start = max(hit.start - _TENURE_BEFORE, done_until, 0)
        for m in _TENURE.finditer(a.low, start, hit.start + _TENURE_AFTER):
            if m.start() >= done_until and not negated(a.low, m.start()):
                found.append(m.group(0))
                done_until = m.end()
    return found


def stated_tenure(a: Analysis) -> dict[str, object] | None:
    """How long the customer says they have been a customer, or None.

    ``{"years": 8, "since_year": None, "words": "loyal for eight years"}``; "customer since
    2015" gives ``since_year`` 2015 (the case turns it into years at the message's date);
    "for many years" gives ``years`` None and ``vague`` True. The longest claim wins.
    """
    best: dict[str, object] | None = None
    for words in _tenure_claims(a):
        years: int | None = None
        since = _YEAR_NUMBER.search(words)
        decades = _DECADES.search(words)
        if since:
            claim: dict[str, object] = {"years": None, "since_year": int(since.group(1))}
        else:
            if decades:
                years = 10 * max(_NUMBER_WORDS.get(decades.group(1), 1), 1)
            elif digits := _DIGITS.search(words):
                years = int(digits.group(1))
            elif spelled := _WORD_NUMBER.search(words):
                years = _NUMBER_WORDS[spelled.group(1)] + _NUMBER_WORDS.get(
                    spelled.group(2) or "", 0
                )
            if years is None and not _VAGUE.search(words):
                continue
            if years is not None and not 1 <= years <= 80:
                continue
            claim = {"years": years, "since_year": None}
            if years is None:
                claim["vague"] = True
        claim["words"] = words
        if best is None or _claim_rank(claim) > _claim_rank(best):
            best = claim
    return best


def _claim_rank(claim: dict[str, object]) -> int:
    if claim.get("since_year"):
        return 3000 - int(claim["since_year"])  # type: ignore[call-overload]
    return int(claim.get("years") or 0)  # type: ignore[call-overload]


def phase(a: Analysis, kind: str) -> tuple[str, list[str]]:
    score = {p: len(a.hits[f"phase_{p}"]) for p in ("before", "during", "after")}
    default = {"inquiry": "before", "suggestion": "after"}.get(kind, "after")
    best = max(score, key=lambda p: (score[p], p == default))
    if score[best] == 0:
        return default, [f"default for {kind}"]
    return best, a.words(f"phase_{best}", 4)
