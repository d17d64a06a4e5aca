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
from collections.abc import Iterator, Mapping
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
# CFPB scrubbing: XXXX, {$12.00}. Same matches as r"\bx{2,}\b|\{\$[\d.,]+\}" with IGNORECASE
# (nothing but X folds to x), written to start with a character class so that the engine
# can skip ahead to the next x, X or {.
_MASKED = re.compile(r"[xX](?<![\w][xX])[xX]+(?![\w])|\{\$[\d.,]+\}")
_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|\d+|[?!]")
_TOKEN_ASCII = re.compile(r"[a-zA-Z]+(?:'[a-zA-Z]+)*|[0-9]+|[?!]")  # _TOKEN on ASCII text


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
    # each pattern needs a literal that plain ``in`` finds faster than a regex scan
    if "http" in text or "www." in text:
        text = _URL.sub(" httpurl ", text)
    if "@" in text:
        text = _MENTION.sub(" atuser ", text)
    if "#" in text:
        text = _HASHTAG.sub(r" \1 ", text)
    if "x" in text or "X" in text or "{" in text:
        text = _MASKED.sub(" xxmask ", text)
    text = _DIGITS.sub("0", text)
    return " ".join(text.split()).lower()  # == re.sub(r"\s+", " ", text).strip(), faster


def tokens(norm: str) -> list[str]:
    return (_TOKEN_ASCII if norm.isascii() else _TOKEN).findall(norm)


_UPPER = re.compile(r"[A-ZÀ-Þ]")
_LOWER = re.compile(r"[a-zß-ÿ]")
_ASCII_UPPER = bytes(range(ord("A"), ord("Z") + 1))
_ASCII_LOWER = bytes(range(ord("a"), ord("z") + 1))


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
    if head.isascii():  # count by deleting bytes: same counts as the regexes, faster
        b = head.encode("ascii")
        up = len(b) - len(b.translate(None, _ASCII_UPPER))
        if up >= 8 and up > 1.5 * (len(b) - len(b.translate(None, _ASCII_LOWER))):
            out.append("__shout__")
        return out
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
    uniq = dict.fromkeys(toks)  # a repeated token adds nothing new
    chars = _learn(uniq)[0]
    out: set[int] = set()
    out.update(*map(chars.__getitem__, uniq))
    return out


def _hash_word(g: str) -> int:
    return crc32(g.encode(), _W_SEED) & MASK


# Per-token caches (tokens repeat a lot across messages), all keyed by token:
# - char-gram hashes in the order the plain loop meets them (3-grams, 4-grams, 5-grams):
#   filling a set in the same order gives the same set, iteration order included, so feature
#   rows stay byte-identical;
# - the unmasked CRC of the token as a word gram (a bigram's CRC continues from it:
#   crc32(b" " + b, crc32(a)) == crc32(a + b" " + b)), the masked one, and b" " + token.
# When full they are replaced, never cleared, so a thread still using the old ones is safe.
_Caches = tuple[dict[str, tuple[int, ...]], dict[str, int], dict[str, int], dict[str, bytes]]
_caches: _Caches = ({}, {}, {}, {})
_CACHE_MAX = 200_000


def _learn(uniq: dict[str, None]) -> _Caches:
    """The caches, holding every token in ``uniq``."""
    global _caches
    caches = _caches
    chars, state, uni, spaced = caches
    if uniq.keys() <= state.keys():
        return caches
    if len(state) + len(uniq) > _CACHE_MAX:
        caches = _caches = ({}, {}, {}, {})
        chars, state, uni, spaced = caches
    for t in uniq:
        if t in state:
            continue
        p = f" {t[:24]} ".encode()
        ln = len(p)
        grams = [crc32(p[i : i + 3], _C_SEED) & MASK for i in range(ln - 2)]
        grams.extend(crc32(p[i : i + 4], _C_SEED) & MASK for i in range(ln - 3))
        grams.extend(crc32(p[i : i + 5], _C_SEED) & MASK for i in range(ln - 4))
        b = t.encode()
        st = crc32(b, _W_SEED)
        chars[t] = tuple(dict.fromkeys(grams))
        uni[t] = st & MASK
        spaced[t] = b" " + b
        state[t] = st  # last: the keys of ``state`` say which tokens are complete
    return caches


def _word_hashes(toks: list[str], meta: list[str]) -> list[int]:
    """Hashes of ``word_ngrams(toks, meta)``, in the same order."""
    _, state, uni, spaced = _learn(dict.fromkeys(toks))
    out = list(map(uni.__getitem__, toks))
    out.extend(_hash_word(g) for g in meta)
    if len(toks) > 1:
        states = map(state.__getitem__, toks[:-1])
        spaced_next = map(spaced.__getitem__, toks[1:])
        out.extend([h & MASK for h in map(crc32, spaced_next, states)])
    return out


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
    return _featurise_toks(toks, _word_hashes(toks, meta_tokens(text, toks)), extra)


def _featurise_toks(
    toks: list[str], word_hashes: list[int], extra: list[str] | None
) -> tuple[np.ndarray, np.ndarray, int, int]:
    w = set(word_hashes)
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


class GramNames(Mapping[int, str]):
    """Column index -> word n-gram / meta / extra token, as ``explain_grams`` returns it,
    but a gram's text is only built when it is asked for (explanations ask for a few)."""

    def __init__(
        self, toks: list[str], meta: list[str], hashes: list[int], extra: list[str] | None
    ) -> None:
        self._toks = toks
        self._meta = meta
        self._extra = extra or []
        if extra:
            hashes = [*hashes, *map(_hash_word, extra)]
        # position of the last gram with each hash (later grams win, as in a dict display)
        self._pos = dict(zip(hashes, range(len(hashes)), strict=True))

    def _gram(self, i: int) -> str:
        toks, n = self._toks, len(self._toks)
        if i < n:
            return toks[i]
        i -= n
        if i < len(self._meta):
            return self._meta[i]
        i -= len(self._meta)
        if i < n - 1:
            return f"{toks[i]} {toks[i + 1]}"
        return self._extra[i - max(n - 1, 0)]

    def __getitem__(self, h: int) -> str:
        return self._gram(self._pos[h])

    def get(self, h: int, default: str | None = None) -> str | None:  # type: ignore[override]
        i = self._pos.get(h)
        return default if i is None else self._gram(i)

    def __contains__(self, h: object) -> bool:
        return h in self._pos

    def __iter__(self) -> Iterator[int]:
        return iter(self._pos)

    def __len__(self) -> int:
        return len(self._pos)


def featurise_explain(
    text: str, extra: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray, int, int, GramNames]:
    """``featurise_parts`` and ``explain_grams`` in one pass over the text."""
    norm = normalise(text)
    toks = tokens(norm)
    meta = meta_tokens(text, toks)
    hashes = _word_hashes(toks, meta)
    idx, val, n_base, n_word = _featurise_toks(toks, hashes, extra)
    return idx, val, n_base, n_word, GramNames(toks, meta, hashes, extra)


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
    meta = meta_tokens(text, toks)
    return dict(GramNames(toks, meta, _word_hashes(toks, meta), extra).items())
