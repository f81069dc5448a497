"""Packed arrays (``tools/arrays.py``): the compact matrix form gives the same answers as lists
and is refused, naming the field, when its bytes do not fit its shape."""

from __future__ import annotations

import base64
import struct

import numpy as np
import pytest

from tools.arrays import PackedArray, pack, unpack
from tools.errors import ToolInputError, ToolLimitError
from tools.registry import get_tool


def test_pack_is_little_endian_row_major() -> None:
    """The bytes are the values row by row, each an IEEE-754 little-endian double (struct's '<d'),
    whatever the machine's byte order."""
    packed = pack([[1.0, 2.5], [-3.0, 0.125]])
    raw = base64.b64decode(str(packed["base64"]))
    assert raw == struct.pack("<4d", 1.0, 2.5, -3.0, 0.125)
    assert packed["shape"] == [2, 2]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_unpack_inverts_pack(dtype: str) -> None:
    rng = np.random.default_rng(7)
    a = rng.normal(size=(13, 5))
    back = unpack(PackedArray.model_validate(pack(a, dtype)), "A", 10**6, 1e9)
    assert back.dtype == np.float64 and back.shape == (13, 5)
    # float64 exactly; float32 to its precision (2^-24 relative)
    tol = 0.0 if dtype == "float64" else 2.0**-23
    np.testing.assert_allclose(back, a, rtol=tol, atol=0)


def _packed(shape: list[int], raw: bytes) -> PackedArray:
    return PackedArray(shape=shape, base64=base64.b64encode(raw).decode())


@pytest.mark.parametrize(
    ("packed", "field", "words"),
    [
        (_packed([2, 3], struct.pack("<5d", *range(5))), "A.base64", "48 bytes"),
        (_packed([1, 2], struct.pack("<2d", 1.0, float("nan"))), "A", "finite"),
        (_packed([1, 1], struct.pack("<d", 1e12)), "A", "magnitude at most"),
    ],
)
def test_bad_packed_values_name_the_field(packed: PackedArray, field: str, words: str) -> None:
    with pytest.raises(ToolInputError) as err:
        unpack(packed, "A", 100, 1e9)
    assert err.value.field == field and words in str(err.value)


def test_size_is_checked_before_decoding() -> None:
    """A shape over the bound is refused from the shape alone (no bytes at all are needed)."""
    with pytest.raises(ToolLimitError):
        unpack(PackedArray(shape=[3000, 3000], base64=""), "A", 4_000_000, 1e9)


def _call(tool: str, body: dict[str, object]) -> dict[str, object]:
    spec = get_tool(tool)
    out = spec.call(spec.parse(body))
    return out.model_dump()


def test_group_lasso_packed_equals_lists() -> None:
    """The same solve, bit for bit: the matrix that reaches the solver is the same array."""
    rng = np.random.default_rng(3)
    a, y = rng.normal(size=(60, 9)), rng.normal(size=60)
    body = {"y": y.tolist(), "groups": [3, 3, 3], "lam": 1.5}
    assert _call("group_lasso_solve", {**body, "A": pack(a)}) == _call(
        "group_lasso_solve", {**body, "A": a.tolist()}
    )


def test_convex_relu_packed_equals_lists() -> None:
    rng = np.random.default_rng(4)
    x, y, x_test = rng.normal(size=(40, 2)), rng.normal(size=40), rng.normal(size=(5, 2))
    body = {"y": y.tolist(), "lam": 0.1, "n_patterns": 20}
    lists = _call("convex_relu_fit", {**body, "X": x.tolist(), "X_test": x_test.tolist()})
    packed = _call("convex_relu_fit", {**body, "X": pack(x), "X_test": pack(x_test)})
    assert packed == lists


def test_elbo_packed_decoder_weights_equal_lists() -> None:
    spec = get_tool("elbo_evaluate")
    example = next(e for e in spec.examples if "decoder_weights" in e.input)
    body = dict(example.input)
    lists = _call("elbo_evaluate", body)
    packed = _call("elbo_evaluate", {**body, "decoder_weights": pack(body["decoder_weights"])})
    assert packed == lists


def test_the_packed_example_matches_the_first_example() -> None:
    """The group-LASSO page's packed example is the first example's matrix, packed."""
    examples = get_tool("group_lasso_solve").examples
    packed = next(e for e in examples if isinstance(e.input["A"], dict))
    assert packed.input["A"] == pack(examples[0].input["A"])
    assert _call("group_lasso_solve", dict(packed.input)) == _call(
        "group_lasso_solve", dict(examples[0].input)
    )


@pytest.mark.parametrize("text", ["!!!!", "AAAAAAAAAAA", "AAAA\nAAAA", "AAAA-_AA"])
def test_text_that_is_not_base64_is_refused_by_name(text: str) -> None:
    """Other alphabets, lost padding and line breaks: refused as ``A.base64``, not decoded."""
    spec = get_tool("group_lasso_solve")
    body = {"A": {"shape": [1, 1], "base64": text}, "y": [1.0], "groups": [1], "lam": 0.5}
    with pytest.raises(ToolInputError) as err:
        spec.call(spec.parse(body))
    assert err.value.field == "A.base64" and "base64" in str(err.value)
