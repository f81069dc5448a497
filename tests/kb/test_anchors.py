"""Heading anchors: GitHub's slug rule (github-slugger's fixtures) and its de-duplication."""

from __future__ import annotations

import pytest
from mdit_py_plugins.anchors.index import slugify as mdit_slugify

from server.kb.anchors import EMPTY_ANCHOR, heading_anchor, heading_text, unique_anchors

# Cases from github-slugger's fixtures (the library GitHub's rendering follows).
GITHUB_CASES = [
    ("foo", "foo"),
    ("foo bar", "foo-bar"),
    ("Foo & Bar", "foo--bar"),
    ("Hello, World!", "hello-world"),
    ("Привет non-latin 你好", "привет-non-latin-你好"),
    ("Heading with a 🎉 emoji", "heading-with-a--emoji"),
    ("snake_case and kebab-case", "snake_case-and-kebab-case"),
    ("a  b", "a--b"),
]


@pytest.mark.parametrize(("text", "expected"), GITHUB_CASES)
def test_github_slugs(text: str, expected: str) -> None:
    assert heading_anchor(text) == expected


@pytest.mark.parametrize(
    ("markdown", "plain"),
    [
        ("**bold** and *em*", "bold and em"),
        ("`code` in heading", "code in heading"),
        ("[a link](https://example.com/x) here", "a link here"),
        ("![alt text](img.png) pic", "alt text pic"),
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("KL term $D_{KL}(q\\|p)$ gradient", "KL term D_{KL}(q\\|p) gradient"),
        ("<b>html</b> tags", "html tags"),
    ],
)
def test_markup_is_stripped_before_slugging(markdown: str, plain: str) -> None:
    assert heading_text(markdown) == plain
    assert heading_anchor(markdown) == heading_anchor(plain)


def test_real_headings_from_the_notes() -> None:
    assert (
        heading_anchor("4.2. 超平面排列 (Hyperplane Arrangement)")
        == "42-超平面排列-hyperplane-arrangement"
    )
    assert heading_anchor("**完整的推导路线图**") == "完整的推导路线图"
    assert (
        heading_anchor("UCB (Upper Confidence Bound - 置信区间上界) 策略")
        == "ucb-upper-confidence-bound---置信区间上界-策略"
    )


ASCII_HEADINGS = [
    "Mathematical Formulation of Inverse Problems",
    "Step 3: derive the dual (SIP)",
    "What's new in v2.0?",
    "Datasets for NLOS, CT, and MRI",
    "p.s. why |W|_2 = 1",
    "x_1 + y-2 = z",
]


@pytest.mark.parametrize("text", ASCII_HEADINGS)
def test_agrees_with_markdown_it_anchors_plugin_on_plain_ascii(text: str) -> None:
    # mdit-py-plugins' anchors plugin implements the same GitHub rule for ASCII text.
    assert heading_anchor(text) == mdit_slugify(text)


def test_empty_slug_gets_a_usable_anchor() -> None:
    assert heading_anchor("!!!") == EMPTY_ANCHOR
    assert heading_anchor("") == EMPTY_ANCHOR


def test_unique_anchors_follow_githubs_dedup_rule() -> None:
    assert unique_anchors(["x", "x", "x"]) == ["x", "x-1", "x-2"]
    # A heading literally named like a generated one does not collide with it.
    assert unique_anchors(["x", "x", "x-1", "x"]) == ["x", "x-1", "x-1-1", "x-2"]
    assert unique_anchors(["A", "a", "**A**"]) == ["a", "a-1", "a-2"]
    assert unique_anchors([]) == []


def test_unique_anchors_are_unique_for_many_repeats() -> None:
    headings = ["Intro", "Setup", "Intro"] * 40 + ["intro-1", "intro-2"]
    anchors = unique_anchors(headings)
    assert len(anchors) == len(set(anchors)) == len(headings)
    assert all(a.startswith(("intro", "setup")) for a in anchors)
