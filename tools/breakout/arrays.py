"""Array types and the element-wise helpers that the level finder and the checks share."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Codes = npt.NDArray[np.int8]  # per check and bar: 1 passed, 0 failed, −1 null

#: Float slack for threshold comparisons, so that e.g. 103 / 100 − 1 ≥ 0.03 holds.
EPS = 1e-12


def code(ok: npt.ArrayLike, known: npt.ArrayLike) -> Codes:
    """A check's outcome per bar: 1 where ``ok``, 0 where not, −1 (null) where not ``known``."""
    return np.where(known, np.asarray(ok, dtype=np.int8), np.int8(-1)).astype(np.int8)


def gather(arr: FloatArray, pos: IntArray, valid: npt.ArrayLike, fill: float) -> FloatArray:
    """``arr[pos]`` where ``valid``, else ``fill`` (``pos`` may be out of range where invalid)."""
    return np.where(valid, arr[np.clip(pos, 0, arr.shape[0] - 1)], fill)


def ratio(num: FloatArray, den: FloatArray, ok: BoolArray) -> FloatArray:
    """``num / den`` where ``ok``, NaN elsewhere, without dividing by an invalid ``den``."""
    return np.where(ok, num / np.where(ok, den, 1.0), np.nan)
