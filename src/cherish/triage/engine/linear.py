"""A multinomial linear model over hashed features, stored as a compact .npz (no pickle).

Only the columns that training touched are stored (indices + float16 weights); loading
scatters them into a dense float32 matrix laid out feature-major (N_FEATURES x classes), so
gathering a text's features reads one short contiguous row per feature. ``weights`` is the
(classes x N_FEATURES) view of it. ``_gather(idx)`` returns exactly what ``weights[:, idx]``
would (same values, same memory layout), so every product and sum sees the same operands in
the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .text import N_FEATURES


@dataclass
class LinearModel:
    classes: list[str]
    weights: np.ndarray  # (C, N_FEATURES) float32
    bias: np.ndarray  # (C,) float32

    def _by_feature(self) -> np.ndarray:
        """(N_FEATURES, C) C-contiguous weights (``weights.T``, copied once if needed)."""
        cached = self.__dict__.get("_wt")
        if cached is None or cached[0] is not self.weights:
            t = self.weights.T
            wt = t if t.flags.c_contiguous else np.ascontiguousarray(t)
            self.__dict__["_wt"] = cached = (self.weights, wt)
        return cached[1]

    def _gather(self, idx: np.ndarray) -> np.ndarray:
        """``weights[:, idx]`` (an F-ordered (C, n) array), gathered row-wise: faster."""
        return self._by_feature().take(idx, axis=0).T

    def scores(self, idx: np.ndarray, val: np.ndarray) -> np.ndarray:
        return self._gather(idx) @ val + self.bias

    def proba(self, idx: np.ndarray, val: np.ndarray) -> np.ndarray:
        return softmax(self.scores(idx, val))

    def scores_batch(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray) -> np.ndarray:
        n = len(indptr) - 1
        out = np.tile(self.bias, (n, 1))
        if len(indices) == 0:
            return out
        contrib = self._gather(indices) * data  # (C, nnz)
        nonempty = indptr[1:] > indptr[:-1]
        starts = indptr[:-1][nonempty]
        out[nonempty] += np.add.reduceat(contrib, starts, axis=1).T
        return out

    def proba_batch(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray) -> np.ndarray:
        return softmax(self.scores_batch(indptr, indices, data))

    def contributions(self, idx: np.ndarray, val: np.ndarray, cls: int) -> np.ndarray:
        """Per-feature push toward ``cls`` relative to the average class."""
        w = self._gather(idx) * val
        return w[cls] - w.mean(axis=0)

    def reorder(self, classes: list[str]) -> LinearModel:
        order = [self.classes.index(c) for c in classes if c in self.classes]
        return LinearModel(
            classes=[self.classes[i] for i in order],
            weights=self.weights[order],
            bias=self.bias[order],
        )

    # -- storage --------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        cols = np.flatnonzero(np.any(self.weights != 0, axis=0)).astype(np.int32)
        np.savez_compressed(
            path,
            classes=np.array(self.classes),
            cols=cols,
            w=self.weights[:, cols].astype(np.float16),
            bias=self.bias.astype(np.float32),
        )

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        with np.load(path, allow_pickle=False) as z:
            classes = [str(c) for c in z["classes"]]
            wt = np.zeros((N_FEATURES, len(classes)), dtype=np.float32)
            wt[z["cols"], :] = z["w"].astype(np.float32).T
            return cls(classes=classes, weights=wt.T, bias=z["bias"].astype(np.float32))


def softmax(s: np.ndarray) -> np.ndarray:
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def fit(
    rows: list[tuple[np.ndarray, np.ndarray]] | tuple[np.ndarray, np.ndarray, np.ndarray],
    labels: list[str],
    *,
    sample_weight: np.ndarray | None = None,
    c: float = 4.0,
    classes: list[str] | None = None,
) -> LinearModel:
    """Fit a multinomial logistic regression (scikit-learn, training time only)."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    if isinstance(rows, tuple):
        indptr, indices, data = rows
    else:
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        for i, (a, _) in enumerate(rows):
            indptr[i + 1] = indptr[i] + len(a)
        indices = np.concatenate([a for a, _ in rows])
        data = np.concatenate([b for _, b in rows])
    x = sparse.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, N_FEATURES))
    used = np.unique(x.indices)  # fit on the touched columns only: 10x faster
    clf = LogisticRegression(C=c, max_iter=500, class_weight="balanced", tol=1e-4)
    clf.fit(x[:, used], labels, sample_weight=sample_weight)
    cls_names = [str(k) for k in clf.classes_]
    coef = np.zeros((clf.coef_.shape[0], N_FEATURES), dtype=np.float32)
    coef[:, used] = clf.coef_
    bias = clf.intercept_.astype(np.float32)
    if coef.shape[0] == 1:  # binary: sklearn keeps one row
        coef = np.vstack([-coef / 2, coef / 2])
        bias = np.array([-bias[0] / 2, bias[0] / 2], dtype=np.float32)
    model = LinearModel(classes=cls_names, weights=coef, bias=bias)
    if classes:
        model = model.reorder(classes)
    return model
