"""The retrieval evaluation set (bench/retrieval_questions.yaml) is well formed: at least 60
questions, a third of each kind, about a tenth on formulas, and every label resolves against the
committed seed (the note exists, the heading is one of its sections, the answer phrase is in that
heading's own text)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from server.config import settings_for
from server.kb.notes import KnowledgeBase

KINDS = ("en_about_zh", "zh_paraphrase", "en_no_keywords")


@pytest.fixture(scope="module")
def questions(repo: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load((repo / "bench" / "retrieval_questions.yaml").read_text("utf-8"))
    return list(data["questions"])


def test_shape(questions: list[dict[str, Any]]) -> None:
    assert len(questions) >= 60
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
