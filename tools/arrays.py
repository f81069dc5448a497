"""Packed arrays: a compact JSON form of a large matrix, beside nested lists of numbers.

A matrix of a million floats costs more as JSON lists (parsing, validating each number, building
an array from Python floats) than many of the solves it feeds. A packed array is an object

    {"shape": [n, p], "dtype": "float64", "base64": "<the n·p values, little-endian, row-major>"}

that becomes an ndarray with one base64 decode and one ``np.frombuffer``: no per-number work but
the checks every tool makes of its data (finite, bounded in magnitude). Clients make it with
``base64.b64encode(np.ascontiguousarray(a, "<f8").tobytes())``.

The same bounds hold as for lists: a shape's size is checked against the field's limit before
anything is decoded, and the text must be exactly the bytes the shape and dtype need.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from tools.errors import ToolInputError, ToolLimitError
from tools.schema import ToolInput

Array = npt.NDArray[np.float64]

MAX_PACKED_VALUES = 4_000_000
"""Values in one packed array (the largest matrix any tool takes: group_lasso_solve's A)."""
DTYPES: Mapping[str, np.dtype[Any]] = MappingProxyType(
    {"float64": np.dtype("<f8"), "float32": np.dtype("<f4")}
)
"""What ``dtype`` may name, as little-endian numpy types."""
PACKED_WORDS = (
    'or packed: {"shape": [rows, columns], "dtype": "float64" (or "float32"), "base64": the '
    "values row by row, little-endian, standard base64}"
)
"""How a matrix field's description names the packed form (one wording everywhere)."""

Extent = Annotated[int, Field(ge=1, le=MAX_PACKED_VALUES)]


class PackedArray(ToolInput):
    """An array of 1 to 3 dimensions as shape, dtype and base64 bytes."""

    shape: list[Extent] = Field(
        min_length=1, max_length=3, description="the array's extents, e.g. [rows, columns]"
    )
    dtype: Literal["float64", "float32"] = Field(
        "float64", description="float64 (8 bytes a value) or float32 (4), little-endian"
    )
    # No ``pattern``: a regular expression over megabytes of text costs more than the decode,
    # which checks the alphabet anyway (``validate=True``) and names the field.
    base64: str = Field(
        json_schema_extra={"contentEncoding": "base64"},
        max_length=4 * math.ceil(MAX_PACKED_VALUES * 8 / 3),
        description="the values in row-major (C) order as standard base64; exactly "
        "prod(shape) values",
    )


class PackedMatrix(PackedArray):
    """A packed array of exactly two dimensions."""

    shape: list[Extent] = Field(min_length=2, max_length=2, description="[rows, columns]")


def unpack(packed: PackedArray, field: str, max_values: int, max_abs: float) -> Array:
    """The float64 array a packed value holds, checked like a list-of-lists input.

    Parameters
    ----------
    packed : PackedArray
    field : str
        The input field, named in errors.
    max_values : int
        The field's bound on the number of values (checked before decoding).
    max_abs : float
        Bound on ``|value|`` (the tool's scale bound).

    Returns
    -------
    ndarray, shape ``packed.shape``, float64 (a fresh, writable array)
    """
    size = math.prod(packed.shape)
    if size > max_values:
        raise ToolLimitError(field, f"at most {max_values:,} numbers", f"shape {packed.shape}")
    dtype = DTYPES[packed.dtype]
    try:
        raw = base64.b64decode(packed.base64, validate=True)
    except (binascii.Error, ValueError):
        raise ToolInputError(
            f"{field}.base64",
            "standard base64 text (A-Z, a-z, 0-9, '+', '/', '=' padding; no line breaks)",
            "other characters or a length that is not a multiple of 4",
        ) from None
    if len(raw) != size * dtype.itemsize:
        raise ToolInputError(
            f"{field}.base64",
            f"{size * dtype.itemsize:,} bytes ({size:,} {packed.dtype} values for shape "
            f"{packed.shape})",
            f"{len(raw):,} bytes",
        )
    arr: Array = np.frombuffer(raw, dtype=dtype).astype(np.float64).reshape(packed.shape)
    if not np.all(np.isfinite(arr)):
        raise ToolInputError(field, "finite numbers", "NaN or infinity")
    if arr.size and float(np.max(np.abs(arr))) > max_abs:
        raise ToolInputError(field, f"numbers of magnitude at most {max_abs:g}", "a larger one")
    return arr


def pack(
    values: npt.ArrayLike, dtype: Literal["float64", "float32"] = "float64"
) -> dict[str, object]:
    """The packed JSON form of an array (what a client sends): the inverse of :func:`unpack`."""
    arr = np.ascontiguousarray(values, dtype=DTYPES[dtype])
    return {
        "shape": list(arr.shape),
        "dtype": dtype,
        "base64": base64.b64encode(arr.tobytes()).decode("ascii"),
    }
