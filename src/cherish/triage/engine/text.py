"""Text normalisation and hashed n-gram features (pure Python + numpy, no scikit-learn).

Features are the union of two blocks hashed into one space of ``N_FEATURES`` columns:
word 1-2 grams (plus a few meta tokens) and character 3-5 grams inside word boundaries.
Each block is binary and L2-normalised on its own, so a long e-mail and a tweet land on a
comparable scale. The hash is CRC-32, which is stable across processes and platforms.
"""

from __future__ import annotations

import itertools
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


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_QUESTION_START = _words(
    "why how what when where who which can could would will is are do does did should "
    "may pourquoi comment quand quel quelle est-ce warum wie wann wo wer was kann können "
    "por qué cómo cuándo dónde cuál puedo pueden"
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


_UPPER = re.compile(r"[A-ZÀ-Þ]")
_LOWER = re.compile(r"[a-zß-ÿ]")


def meta_tokens(raw: str, toks: list[str]) -> list[str]:
    """Shape features that n-grams miss: question form, length, shouting."""
    out: list[str] = []
    n = len(toks) - toks.count("?") - toks.count("!")
    out.append("__len_s__" if n < 12 else "__len_m__" if n < 60 else "__len_l__")
    if "?" in toks:
        out.append("__has_q__")
    if toks and toks[0] in _QUESTION_START:
        out.append("__starts_q__")
    if toks.count("!") >= 2:
        out.append("__bang2__")
    head = raw[:500]
    up = len(_UPPER.findall(head))
    if up >= 8 and up > 1.5 * len(_LOWER.findall(head)):
        out.append("__shout__")
    return out


def word_ngrams(toks: list[str], extra: list[str]) -> list[str]:
    grams = [*toks, *extra]
    grams.extend(f"{a} {b}" for a, b in itertools.pairwise(toks))
    return grams


_W_SEED = 0x5EED
_C_SEED = 0xC4A2


def _char_hashes(toks: list[str]) -> set[int]:
    """CRC-32 of the byte 3-5 grams of each padded token (bytes: fast, and stable)."""
    out: set[int] = set()
    for t in toks:
        p = f" {t[:24]} ".encode()
        ln = len(p)
        out.update(crc32(p[i : i + 3], _C_SEED) & MASK for i in range(ln - 2))
        out.update(crc32(p[i : i + 4], _C_SEED) & MASK for i in range(ln - 3))
        out.update(crc32(p[i : i + 5], _C_SEED) & MASK for i in range(ln - 4))
    return out


def _hash_word(g: str) -> int:
    return crc32(g.encode(), _W_SEED) & MASK


def featurise(text: str, extra: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return (column indices, values) of one text's sparse feature row."""
    idx, val, _, _ = featurise_parts(text, extra)
    return idx, val


def featurise_parts(
    text: str, extra: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(indices, values, n_base, n_word): entries ``[:n_word]`` are word n-grams and meta
    tokens, ``[n_word:n_base]`` char n-grams, ``[n_base:]`` the ``extra`` block (lexicon
    evidence tokens); each block binary and L2-normalised on its own."""
    norm = normalise(text)
    toks = tokens(norm)
    w = {_hash_word(g) for g in word_ngrams(toks, meta_tokens(text, toks))}
    c = _char_hashes(toks)
    c -= w  # a collision across blocks keeps the word value
    e = {_hash_word(g) for g in extra} if extra else set()
    nw, nc, ne = len(w), len(c), len(e)
    idx = np.fromiter([*w, *c, *e], dtype=np.int32, count=nw + nc + ne)
    val = np.empty(nw + nc + ne, dtype=np.float32)
    val[:nw] = 1.0 / np.sqrt(max(nw, 1))
    val[nw : nw + nc] = 1.0 / np.sqrt(max(nc, 1))
    val[nw + nc :] = 1.0 / np.sqrt(max(ne, 1))
    return idx, val, nw + nc, nw


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
    """Column index -> word n-gram / meta / extra token (char grams are not shown to people)."""
    norm = normalise(text)
    toks = tokens(norm)
    grams = word_ngrams(toks, meta_tokens(text, toks))
    if extra:
        grams.extend(extra)
    return {_hash_word(g): g for g in grams}
