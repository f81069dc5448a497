"""The retrieval evaluation sets are well formed: bench/retrieval_questions.yaml (at least 60
questions) and the second set bench/retrieval_questions_dev2.yaml (at least 24 others), each a
third of each kind, about a tenth on formulas, over at least ten notes; every label resolves against
the committed seed (the note exists, the heading is one of its sections, the answer phrase is in
that heading's own text), and no question of the second set repeats one of the first."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from server.config import settings_for
from server.kb.notes import KnowledgeBase

KINDS = ("en_about_zh", "zh_paraphrase", "en_no_keywords")


SETS = {"retrieval_questions.yaml": 60, "retrieval_questions_dev2.yaml": 24}
"""Each set and the least number of questions it holds."""


def _load(repo: Path, name: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((repo / "bench" / name).read_text("utf-8"))
    return list(data["questions"])


@pytest.fixture(scope="module", params=sorted(SETS))
def named(request: pytest.FixtureRequest, repo: Path) -> tuple[str, list[dict[str, Any]]]:
    return request.param, _load(repo, request.param)


@pytest.fixture(scope="module")
def questions(named: tuple[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return named[1]


def test_shape(named: tuple[str, list[dict[str, Any]]]) -> None:
    name, questions = named
    assert len(questions) >= SETS[name]
    assert len({q["id"] for q in questions}) == len(questions)
    kinds = Counter(q["kind"] for q in questions)
    assert set(kinds) == set(KINDS)
    for kind in KINDS:
        assert kinds[kind] >= len(questions) // 3 - 1, kinds
    formulas = sum(bool(q.get("formula")) for q in questions)
    assert formulas >= len(questions) // 10, formulas
    assert len({q["note"] for q in questions}) >= 10


def test_labels_resolve(questions: list[dict[str, Any]], repo: Path) -> None:
    kb = KnowledgeBase.load(settings_for(repo))
    for q in questions:
        section, slug = q["note"].split("/")
        post = kb.get(section, slug)
        assert post is not None, q["id"]
        sections = sorted(kb.sections(post), key=lambda s: s.start)
        found = [i for i, s in enumerate(sections) if s.heading == q["heading"]]
        assert len(found) == 1, (q["id"], q["heading"])
        i = found[0]
        end = sections[i + 1].start if i + 1 < len(sections) else len(post.body)
        assert q["answer"] in post.body[sections[i].start : end], q["id"]


def test_sets_are_disjoint(repo: Path) -> None:
    first, second = (_load(repo, name) for name in sorted(SETS))
    assert not {q["id"] for q in first} & {q["id"] for q in second}
    assert not {q["question"] for q in first} & {q["question"] for q in second}
