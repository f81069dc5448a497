"""Documented outputs agree with fresh ones up to floating-point noise, and not beyond."""

from __future__ import annotations

from server.toolset.agreement import texts_agree, values_agree

DOC = (
    '{\n  "objective": 0.215735457765,\n  "n_iter": 2773,\n  "count": 3,\n'
    '  "message": "converged: relative duality gap 7.76e-14 ≤ tol 1e-06 after 2773 iterations"\n}'
)


def test_noise_agrees() -> None:
    other_cpu = (
        '{\n  "objective": 0.215735457764,\n  "n_iter": 2790,\n  "count": 3,\n'
        '  "message": "converged: relative duality gap 7.9e-14 ≤ tol 1e-06 '
        'after 2790 iterations"\n}'
    )
    assert texts_agree(other_cpu, DOC)
    assert values_agree(
        {"objective": 0.2157354577648, "n_iter": 2790, "gap": 7.9e-14, "ok": True},
        {"objective": 0.215735457765, "n_iter": 2773, "gap": 7.76e-14, "ok": True},
    )


def test_real_changes_do_not_agree() -> None:
    assert not texts_agree(DOC.replace("0.215735457765", "0.2157"), DOC)
    assert not texts_agree(DOC.replace('"count": 3', '"count": 4'), DOC)
    assert not texts_agree(DOC.replace("2773 iterations", "9000 iterations"), DOC)
    assert not texts_agree(DOC.replace("converged", "stopped"), DOC)
    assert not texts_agree(DOC + "\n", DOC)
    assert not values_agree({"n": 3}, {"n": 3.5})
    assert not values_agree({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert not values_agree({"ok": 1}, {"ok": True})
    assert not values_agree({"gap": 1e-3}, {"gap": 2e-3})
    assert not values_agree([1, 2], [1, 2, 3])
