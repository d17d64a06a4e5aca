"""Complaint themes: TF-IDF over words and word pairs, reduced by LSA, grouped by k-means.

Pure computation, no database: ``cherish.learning.actions`` stores what this module fits.
The fitted space is kept as plain arrays (vocabulary, idf weights, LSA components) in an
``.npz`` written with ``allow_pickle=False``, so loading a model never runs code, and any
process (web, worker, another machine) rebuilds the same vectors from the database row.

Why this shape: LSA turns "refund" and "money back" into nearby directions, which plain bag-
of-words k-means cannot; measured on CFPB narratives in ``bench/bench_themes.py``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from scipy import sparse

# scikit-learn and SciPy are imported where they are used, not here: every web process
# imports this module (through the URLconf) and most never fit or assign a theme, so loading
# them at start-up would double the time a worker takes to boot.

TOKEN_PATTERN = r"(?u)\b[a-zA-Z][a-zA-Z]+\b"
NGRAMS = (1, 2)
# Scrubbed placeholders (CFPB's XXXX), mail furniture and words every complaint uses.
EXTRA_STOP_WORDS = frozenset(
    [
        "xxxx",
        "xx",
        "xxx",
        "im",
        "ive",
        "dont",
        "didnt",
        "cant",
        "wont",
        "doesnt",
        "isnt",
        "wasnt",
        "hi",
        "hello",
        "dear",
        "thanks",
        "thank",
        "regards",
        "please",
        "just",
        "said",
        "told",
        "got",
        "get",
        "like",
        "know",
        "want",
        "asked",
        "ask",
        "called",
        "call",
        "time",
    ]
)


def stop_words() -> list[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return sorted(ENGLISH_STOP_WORDS | EXTRA_STOP_WORDS)


MAX_FEATURES = 30_000
DIMENSIONS = 100


def _stem(word: str) -> str:
    """A crude plural fold, enough to see "payment" and "payments" as one word."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def default_theme_count(n_texts: int) -> int:
    """About √(n/5) themes, from 2 to 40: enough to separate, few enough to read."""
    return max(2, min(40, round(math.sqrt(n_texts / 5))))


def _normalise_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32)


@dataclass
class ThemeSpace:
    """The fitted vector space: turns complaint text into unit vectors that themes live in."""

    terms: np.ndarray  # (V,) str: term of each column
    idf: np.ndarray  # (V,) float32
    components: np.ndarray  # (d, V) float32: LSA directions

    _counter: Any = field(default=None, init=False, repr=False)

    def counter(self) -> Any:
        if self._counter is None:
            from sklearn.feature_extraction.text import CountVectorizer

            self._counter = CountVectorizer(
                vocabulary={str(term): i for i, term in enumerate(self.terms)},
                token_pattern=TOKEN_PATTERN,
                ngram_range=NGRAMS,
                stop_words=stop_words(),
                lowercase=True,
                dtype=np.float32,
            )
        return self._counter

    @property
    def dimensions(self) -> int:
        return int(self.components.shape[0])

    def tfidf(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The same weighting TfidfVectorizer(sublinear_tf=True) gave while fitting."""
        from scipy import sparse

        counts = self.counter().transform(texts).tocsr().astype(np.float32)
        counts.data = 1.0 + np.log(counts.data)
        weighted = counts.multiply(self.idf).tocsr()
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sparse.diags(1.0 / norms).dot(weighted).tocsr().astype(np.float32)

    def project(self, tfidf: sparse.csr_matrix) -> np.ndarray:
        return _normalise_rows(np.asarray(tfidf @ self.components.T))

    def vectorize(self, texts: Sequence[str]) -> np.ndarray:
        return self.project(self.tfidf(texts))

    def term_weights(self, prototypes: np.ndarray) -> np.ndarray:
        """Each prototype seen as weights over the vocabulary: (m, V)."""
        return np.asarray(prototypes @ self.components, dtype=np.float32)

    def top_terms(self, prototypes: np.ndarray, n: int = 8) -> list[str]:
        """The words that most describe a theme, word pairs first when they cover a word."""
        weights = self.term_weights(np.atleast_2d(prototypes)).max(axis=0)
        candidates = [
            (str(self.terms[i]), float(weights[i])) for i in np.argsort(-weights)[: n * 6]
        ]
        weight = dict(candidates)
        # A word pair reads better than its words ("wells fargo", not "fargo, wells") when it
        # carries most of the word's weight.
        preferred: list[str] = []
        for term, w in candidates:
            if " " not in term:
                pairs = [p for p, pw in candidates if " " in p and term in p.split()]
                pair = max(pairs, key=lambda p: weight[p], default=None)
                if pair is not None and weight[pair] >= 0.5 * w:
                    term = pair
            if term not in preferred:
                preferred.append(term)
        chosen: list[str] = []
        for term in preferred:
            words = {_stem(w) for w in term.split()}
            # Skip a term whose words another chosen term already says ("loans" after
            # "student loan"; "payment" after "payments").
            if any(words <= {_stem(w) for w in other.split()} for other in chosen) or any(
                {_stem(w) for w in other.split()} <= words for other in chosen
            ):
                continue
            chosen.append(term)
            if len(chosen) == n:
                break
        return chosen

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer, terms=self.terms.astype(str), idf=self.idf, components=self.components
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> ThemeSpace:
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            return cls(
                terms=data["terms"],
                idf=data["idf"].astype(np.float32),
                components=data["components"].astype(np.float32),
            )


@dataclass
class Fitted:
    space: ThemeSpace
    tfidf: sparse.csr_matrix  # (n, V): kept to explain assignments without re-tokenising
    vectors: np.ndarray  # (n, d) unit rows


def fit_space(texts: Sequence[str], *, dimensions: int = DIMENSIONS, seed: int = 0) -> Fitted:
    """Fit the vocabulary, idf and LSA directions on ``texts`` (at least two)."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        token_pattern=TOKEN_PATTERN,
        ngram_range=NGRAMS,
        stop_words=stop_words(),
        min_df=2 if len(texts) >= 20 else 1,
        max_df=0.5 if len(texts) >= 20 else 1.0,
        max_features=MAX_FEATURES,
        sublinear_tf=True,
        dtype=np.float32,
    )
    tfidf = vectorizer.fit_transform(texts).tocsr()
    dims = max(1, min(dimensions, tfidf.shape[1] - 1, len(texts) - 1))
    svd = TruncatedSVD(n_components=dims, random_state=seed, n_iter=5)
    vectors = _normalise_rows(svd.fit_transform(tfidf))
    terms = np.empty(len(vectorizer.vocabulary_), dtype=object)
    for term, column in vectorizer.vocabulary_.items():
        terms[column] = term
    space = ThemeSpace(
        terms=terms.astype(str),
        idf=vectorizer.idf_.astype(np.float32),
        components=svd.components_.astype(np.float32),
    )
    return Fitted(space=space, tfidf=tfidf, vectors=vectors)


def cluster(vectors: np.ndarray, k: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """k-means on unit vectors; returns (labels, unit centroids)."""
    from sklearn.cluster import KMeans

    k = max(1, min(k, len(vectors)))
    model = KMeans(n_clusters=k, n_init=3, random_state=seed, max_iter=100)
    labels = model.fit_predict(vectors)
    return labels.astype(np.int32), _normalise_rows(model.cluster_centers_)


def prototypes_for(vectors: np.ndarray, count: int, *, seed: int = 0) -> np.ndarray:
    """``count`` prototypes summarising ``vectors`` (one: their mean direction)."""
    if len(vectors) == 0:
        return np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), dtype=np.float32)
    if count <= 1 or len(vectors) <= count:
        return _normalise_rows(vectors.mean(axis=0, keepdims=True))
    return cluster(vectors, count, seed=seed)[1]


def nearest(prototypes: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each vector: the index of the most similar prototype and the cosine similarity."""
    similarity = vectors @ prototypes.T
    best = similarity.argmax(axis=1)
    return best, similarity[np.arange(len(vectors)), best]


def driving_words(
    tfidf_row: sparse.csr_matrix, prototype_terms: np.ndarray, terms: np.ndarray, n: int = 5
) -> list[str]:
    """The words of one text that pulled it towards its theme, strongest first."""
    row = tfidf_row.tocsr()
    if row.nnz == 0:
        return []
    contribution = row.data * prototype_terms[row.indices]
    order = np.argsort(-contribution)[:n]
    return [str(terms[row.indices[i]]) for i in order if contribution[i] > 0]


def name_from_terms(terms: Sequence[str]) -> str:
    """A plain first name for a theme from its top words ("Late delivery, courier, refund");
    staff rename it in their own words."""
    if not terms:
        return "Unnamed theme"
    words = ", ".join(terms[:3])
    return words[:1].upper() + words[1:]
