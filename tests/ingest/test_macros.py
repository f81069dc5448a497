r"""Site-wide TeX macros (server/ingest/mathfix/macros.py, ``--tex-macros FILE``).

A blog whose MathJax configuration defines ``\abs``, ``\norm``, ``\R``, ``\Aut``: the build
reports, per post, the commands KaTeX does not know; given the macros file, it reports none,
keeps the macros with the content (manifest, llms.txt's prose), ``notes-kb check`` uses them, and
the HTML view expands them. KaTeX itself (tests/ingest/katex_check.mjs) renders the formulas with
the macros and refuses them without.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from server.config import settings_for
from server.ingest.build import build, check
from server.ingest.mathfix.macros import MacroError, expand, parse_macros, unknown_commands
from server.ingest.posts import parse_post
from server.web.html import post_page
from tests.ingest.test_katex import katex_errors

REPO = Path(__file__).resolve().parents[2]

MACROS = r"""% the blog's MathJax macros
\newcommand{\abs}[1]{\left|#1\right|}
\newcommand\R{\mathbb{R}}
\renewcommand{\norm}[1]{\left\lVert#1\right\rVert}
\def\E{\mathbb{E}}
\DeclareMathOperator{\Aut}{Aut}
"""

FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Algebra notes</title><link>https://alg.example</link>
<description>Groups and norms</description>
<item><title>Norms</title><link>https://alg.example/norms/</link><guid>n1</guid>
<pubDate>Mon, 01 Jan 2024 00:00:00 +0000</pubDate>
<description><![CDATA[<p>For $x \\in \\R^n$ we have $\\norm{x} \\ge \\abs{x_1}$ and
$\\E \\abs{X} < \\infty$.</p>]]></description></item>
<item><title>自同构群</title><link>https://alg.example/aut/</link><guid>n2</guid>
<pubDate>Tue, 02 Jan 2024 00:00:00 +0000</pubDate>
<description><![CDATA[<p>群 $G$ 的自同构群记作 $\\Aut(G)$，而
$\\alpha \\in \\Aut(G)$。</p>]]></description>
</item>
<item><title>Plain</title><link>https://alg.example/plain/</link><guid>n3</guid>
<pubDate>Wed, 03 Jan 2024 00:00:00 +0000</pubDate>
<description><![CDATA[<p>Nothing but $\\frac{a}{b}$.</p>]]></description></item>
</channel></rss>
"""


def test_parse_macros() -> None:
    assert parse_macros(MACROS) == {
        "\\abs": "\\left|#1\\right|",
        "\\R": "\\mathbb{R}",
        "\\norm": "\\left\\lVert#1\\right\\rVert",
        "\\E": "\\mathbb{E}",
        "\\Aut": "\\operatorname{Aut}",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("\\newcommand{\\abs}[1]{\\left|#1\\right|}\nabs = |x|", "macros line 2: expected"),
        ("\\newcommand{\\bad}{\\frac{a}{b}", "macros line 1: the body of \\bad has unbalanced"),
        ("\\newcommand{\\bad}{a}}{", "macros line 1: expected"),
    ],
)
def test_bad_macros_are_named(text: str, message: str) -> None:
    with pytest.raises(MacroError, match=message.replace("\\", "\\\\").replace("[", "\\[")):
        parse_macros(text)


def test_unknown_commands_and_expansion() -> None:
    macros = parse_macros(MACROS)
    tex = "\\norm{x} \\le \\abs{\\R} + \\foo \\\\ \\alpha"
    assert unknown_commands(tex) == {"\\norm", "\\abs", "\\foo"}  # KaTeX knows \R
    assert unknown_commands(tex, macros) == {"\\foo"}
    assert expand("\\abs{x_1} + \\Aut(G)", macros) == "\\left|x_1\\right| + \\operatorname{Aut}(G)"
    assert len(expand("\\loop", {"\\loop": "\\loop x"})) < 5000  # bounded self-reference


def test_katex_renders_with_the_macros_and_refuses_without() -> None:
    macros = parse_macros(MACROS)
    formulas = [("\\norm{x} \\ge \\abs{x_1}", False), ("\\alpha \\in \\Aut(G)", True)]
    assert len(katex_errors(formulas)) == 2
    payload = [{"tex": t, "display": d, "macros": macros} for t, d in formulas]
    node = subprocess.run(
        ["node", str(REPO / "tests" / "ingest" / "katex_check.mjs")],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(node.stdout) == []
    # and the expanded TeX renders without any macros
    assert katex_errors([(expand(t, macros), d) for t, d in formulas]) == []


def test_build_reports_undefined_commands_then_uses_the_macros(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text(FEED, encoding="utf-8")
    root = tmp_path / "site"
    report = build(settings_for(root), feed, "", tools=[])
    assert report.undefined == {
        "content/posts/posts/norms.md": ["\\E", "\\abs", "\\norm"],
        "content/posts/posts/aut.md": ["\\Aut"],
    }
    assert (
        "TeX commands KaTeX does not know, in 2 post(s) (define them with --tex-macros FILE):\n"
        "  content/posts/posts/norms.md: \\E, \\abs, \\norm\n"
        "  content/posts/posts/aut.md: \\Aut"
    ) in report.format()
    problems = check(settings_for(root), feed)
    assert problems == [
        "content/posts/posts/norms.md: TeX commands KaTeX does not know: \\E, \\abs, \\norm "
        "(define them with --tex-macros FILE)",
        "content/posts/posts/aut.md: TeX commands KaTeX does not know: \\Aut "
        "(define them with --tex-macros FILE)",
    ]

    macros = parse_macros(MACROS)
    report = build(settings_for(root), feed, "", tools=[], tex_macros=macros)
    assert report.undefined == {}
    manifest = json.loads((root / "content" / "index.json").read_text(encoding="utf-8"))
    assert manifest["feed"]["tex_macros"] == dict(sorted(macros.items()))
    llms = (root / "llms.txt").read_text(encoding="utf-8")
    assert "`\\abs` is `\\left|#1\\right|`" in llms and "`\\Aut` is `\\operatorname{Aut}`" in llms
    # later builds and check keep the stored macros without the flag
    assert check(settings_for(root), feed) == []
    assert build(settings_for(root), feed, "", tools=[]).undefined == {}
    assert "`\\R` is `\\mathbb{R}`" in (root / "llms.txt").read_text(encoding="utf-8")

    post = parse_post((root / "content/posts/posts/norms.md").read_text(encoding="utf-8"))
    page = post_page(post, (), macros)
    assert "math-error" not in page and "<math" in page and "<mi>\\abs</mi>" not in page
    assert "<mi>\\abs</mi>" in post_page(post)  # without them: the name as a letter


def test_cli_refuses_a_bad_macros_file(tmp_path: Path) -> None:
    bad = tmp_path / "macros.tex"
    bad.write_text("\\newcommand{\\ok}{x}\nnot a macro\n", encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "server.cli", "build", "--out", str(out), "--tex-macros", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )
    assert proc.returncode == 1
    assert f"--tex-macros {bad} line 2: expected \\newcommand" in proc.stderr
    assert "nothing was written" in proc.stderr and not out.exists()
