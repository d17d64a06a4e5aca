"""Text normalisation and hashed n-gram features (pure Python + numpy, no scikit-learn).

Features are the union of two blocks hashed into one space of ``N_FEATURES`` columns:
word 1-2 grams (plus a few meta tokens) and character 3-5 grams inside word boundaries.
Each block is binary and L2-normalised on its own, so a long e-mail and a tweet land on a
comparable scale. The hash is CRC-32, which is stable across processes and platforms.
"""

from __future__ import annotations

import re
import unicodedata
from zlib import crc32

import numpy as np

N_BITS = 20
N_FEATURES = 1 << N_BITS
MASK = N_FEATURES - 1
MAX_CHARS = 2000  # features look at the first 2,000 characters; lexicons look further

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_HASHTAG = re.compile(r"#(\w+)")
_DIGITS = re.compile(r"\d+")
_MASKED = re.compile(r"\bx{2,}\b|\{\$[\d.,]+\}", re.IGNORECASE)  # CFPB scrubbing: XXXX, {$12.00}
_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|\d+|[?!]")
_WS = re.compile(r"\s+")

_QUESTION_START = frozenset(
    "why how what when where who which can could would will is are do does did should may "
    "pourquoi comment quand quel quelle est-ce warum wie wann wo wer was kann können "
    "por qué cómo cuándo dónde cuál puedo pueden".split()
)


def normalise(text: str) -> str:
    """Lower-case, fold URLs/mentions/numbers/CFPB masks into placeholder tokens."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS])
    text = _URL.sub(" httpurl ", text)
    text = _MENTION.sub(" atuser ", text)
    text = _HASHTAG.sub(r" \1 ", text)
    text = _MASKED.sub(" xxmask ", text)
    text = _DIGITS.sub("0", text)
    return _WS.sub(" ", text).strip().lower()


def tokens(norm: str) -> list[str]:
    return _TOKEN.findall(norm)


def meta_tokens(raw: str, toks: list[str]) -> list[str]:
    """Shape features that n-grams miss: question form, length, shouting."""
    out: list[str] = []
    words = [t for t in toks if t not in ("?", "!")]
    n = len(words)
    out.append("__len_s__" if n < 12 else "__len_m__" if n < 60 else "__len_l__")
    if "?" in toks:
        out.append("__has_q__")
    if words and words[0] in _QUESTION_START:
        out.append("__starts_q__")
    if toks.count("!") >= 2:
        out.append("__bang2__")
    letters = [c for c in raw[:500] if c.isalpha()]
    if len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.6:
        out.append("__shout__")
    return out


def word_ngrams(toks: list[str], extra: list[str]) -> list[str]:
    grams = [*toks, *extra]
    grams.extend(f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False))
    return grams


def char_ngrams(toks: list[str]) -> list[str]:
    out: list[str] = []
    for t in toks:
        if len(t) > 24:
            t = t[:24]
        p = f" {t} "
        ln = len(p)
        for n in (3, 4, 5):
            if ln < n:
                break
            out.extend(p[i : i + n] for i in range(ln - n + 1))
    return out


def _hash_word(g: str) -> int:
    return crc32(b"w" + g.encode("utf-8")) & MASK


def _hash_char(g: str) -> int:
    return crc32(b"c" + g.encode("utf-8")) & MASK


def featurise(text: str, extra: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return (column indices, values) of one text's sparse feature row."""
    norm = normalise(text)
    toks = tokens(norm)
    meta = meta_tokens(text, toks) + (extra or [])
    w = {_hash_word(g) for g in word_ngrams(toks, meta)}
    c = {_hash_char(g) for g in char_ngrams(toks)}
    c -= w  # a collision across blocks keeps the word value
    idx = np.fromiter([*w, *c], dtype=np.int32, count=len(w) + len(c))
    val = np.empty(len(idx), dtype=np.float32)
    val[: len(w)] = 1.0 / np.sqrt(max(len(w), 1))
    val[len(w) :] = 1.0 / np.sqrt(max(len(c), 1))
    return idx, val


def featurise_batch(
    texts: list[str], extras: list[list[str]] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR parts (indptr, indices, data) for many texts."""
    idxs: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    indptr = np.zeros(len(texts) + 1, dtype=np.int64)
    for i, t in enumerate(texts):
        a, b = featurise(t, extras[i] if extras else None)
        idxs.append(a)
        vals.append(b)
        indptr[i + 1] = indptr[i] + len(a)
    if not texts:
        return indptr, np.zeros(0, np.int32), np.zeros(0, np.float32)
    return indptr, np.concatenate(idxs), np.concatenate(vals)


def explain_grams(text: str, extra: list[str] | None = None) -> dict[int, str]:
    """Column index -> a human-readable n-gram (word grams win over char grams)."""
    norm = normalise(text)
    toks = tokens(norm)
    out: dict[int, str] = {}
    for g in char_ngrams(toks):
        out.setdefault(_hash_char(g), f"“{g.strip()}…”")
    for g in word_ngrams(toks, meta_tokens(text, toks) + (extra or [])):
        out[_hash_word(g)] = g
    return out
