"""Each kind of LaTeX damage, on real snippets of the seed feed (``content/feed.xml``)."""

from __future__ import annotations

import re

import pytest

from server.ingest.mathfix import PLACEHOLDER_TAG, protect_math, repair_tex


def texs(html: str) -> list[str]:
    return [f.tex.strip() for f in protect_math(html).formulas]


# --- emphasis pairs (deterministic) -------------------------------------------------------------


def test_em_pairs_inside_one_display_formula() -> None:
    html = (
        "<p>$$\n\\min<em>{W_1, W_2} \\frac{1}{2} \\left| \\sum</em>{j=1}^{m} "
        "\\sigma(Xw<em>{1j})w</em>{2j} - y \\right|<em>2^2 + \\lambda \\left( \\sum</em>{j=1}^{m} "
        "|w<em>{1j}|_2^2 + \\sum</em>{j=1}^{m} |w_{2j}|^2 \\right)\n$$</p>"
    )
    result = protect_math(html)
    assert len(result.formulas) == 1
    f = result.formulas[0]
    assert f.display
    assert result.em_pairs_repaired == 4
    assert f.tex.strip() == (
        "\\min_{W_1, W_2} \\frac{1}{2} \\left\\| \\sum_{j=1}^{m} \\sigma(Xw_{1j})w_{2j} - y "
        "\\right\\|_2^2 + \\lambda \\left( \\sum_{j=1}^{m} \\|w_{1j}\\|_2^2 + \\sum_{j=1}^{m} "
        "|w_{2j}|^2 \\right)"
    )
    assert "<em>" not in result.html and "</em>" not in result.html


def test_em_pair_spanning_two_formulas_with_prose_between() -> None:
    html = (
        "<p>其中，$W<em>1$ 是第一层权重矩阵（$w</em>{1j}$ 是其第 j 列），$w<em>2$ 是第二层权重向量"
        "（$w</em>{2j}$ 是其第 j 个标量元素）。</p>"
    )
    result = protect_math(html)
    assert texs(html) == ["W_1", "w_{1j}", "w_2", "w_{2j}"]
    assert result.em_pairs_repaired == 2
    # the prose between the formulas is no longer emphasised, and is all there
    assert "<em>" not in result.html and "</em>" not in result.html
    assert "是第一层权重矩阵（" in result.html and "是第二层权重向量" in result.html
    assert result.html.count(f"<{PLACEHOLDER_TAG} ") == 4


def test_em_from_a_star_after_a_superscript() -> None:
    html = "<p>非凸网络的最优权重 $W_1^<em>$ 和 $W_2^</em>$。</p>"
    assert texs(html) == ["W_1^*", "W_2^*"]


def test_strong_pair_inside_math_becomes_double_characters() -> None:
    assert texs("<p>$a<strong>i</strong>b$</p>") == ["a__i__b"]


def test_emphasis_outside_math_is_left_alone() -> None:
    html = "<p><em>(变量缩放)</em> 和 $x_1$ 与 <strong>粗体</strong></p>"
    result = protect_math(html)
    assert "<em>(变量缩放)</em>" in result.html and "<strong>粗体</strong>" in result.html
    assert result.em_pairs_repaired == 0


def test_em_half_in_math_restores_the_prose_underscore() -> None:
    # "$a_1$ then b_c" → "$a<em>1$ then b</em>c": the partner lies in prose
    result = protect_math("<p>$a<em>1$ then b</em>c</p>")
    assert [f.tex for f in result.formulas] == ["a_1"]
    assert "then b_c" in result.html


# --- code spans, split display ------------------------------------------------------------------


def test_code_spans_inside_a_formula_give_their_text_back() -> None:
    html = "<p>$Loss = <code>BCE 重建损失</code> - <code>熵正则化项</code> + <code>常数</code>$</p>"
    (f,) = protect_math(html).formulas
    assert f.code_spans == 3
    assert f.tex == "Loss = \\text{BCE 重建损失} - \\text{熵正则化项} + \\text{常数}"


def test_code_outside_math_never_opens_a_formula() -> None:
    assert texs("<p><code>echo $HOME$</code> and $x$</p>") == ["x"]


def test_split_display_formula_is_rejoined() -> None:
    html = (
        "<ul><li>训练损失（ELBO 形式）：</li></ul><p>$$\n \\mathcal{L}\n   = \\mathbb{E}<em>{q"
        "</em>{\\phi}(\\mathbf{z}\\mid\\mathbf{x})}\n     \\bigl[-\\log p_{\\theta}(\\mathbf{x}"
        "\\mid\\mathbf{z})\\bigr]</p><ul><li>D<em>{\\mathrm{KL}}!\\bigl(q</em>{\\phi}(\\mathbf{z}"
        "\\mid\\mathbf{x});|;p(\\mathbf{z})\\bigr)\n$$</li></ul><p>– 第一项 = 重建误差</p>"
    )
    result = protect_math(html)
    assert result.judgement_calls["split_display"] == 1
    (f,) = result.formulas
    assert f.display
    lines = [ln.strip() for ln in f.tex.strip().splitlines()]
    assert lines[0] == "\\mathcal{L}"
    assert lines[-1] == (
        "+ D_{\\mathrm{KL}}\\!\\bigl(q_{\\phi}(\\mathbf{z}\\mid\\mathbf{x})\\;\\|\\;"
        "p(\\mathbf{z})\\bigr)"
    )
    # the list that held the continuation is gone; the first list is still there
    assert result.html.count("<ul>") == 1
    assert "第一项" in result.html


# --- backslash damage ---------------------------------------------------------------------------


def test_row_breaks_in_aligned_and_cases() -> None:
    html = (
        "<p>$$\n  \\begin{aligned}\n  \\max<em>{v} \\quad &amp; -\\frac{1}{2}|v-y|_2^2 + "
        "\\frac{1}{2}|y|_2^2 \\\n  \\text{s.t.} \\quad &amp; |\\mathcal{A}^\\top v|</em>\\infty "
        "\\le \\lambda\n  \\end{aligned}\n  $$</p>"
    )
    (f,) = protect_math(html).formulas
    assert f.row_breaks == 1
    rows = f.tex.strip().splitlines()
    assert rows[1].rstrip().endswith("\\\\")
    assert not rows[2].rstrip().endswith("\\")
    assert "\\|\\mathcal{A}^\\top v\\|_\\infty" in f.tex
    cases = "<p>$$\n\\begin{cases}\n1, &amp; x &gt; 0 \\\n0, &amp; x \\le 0\n\\end{cases}\n$$</p>"
    (g,) = protect_math(cases).formulas
    assert g.row_breaks == 1
    assert "x > 0 \\\\\n0" in g.tex


def test_row_break_outside_an_environment_is_not_touched() -> None:
    tex, rows, _ = repair_tex("a \\\nb", True)
    assert rows == 0 and tex == "a \\\nb"


@pytest.mark.parametrize(
    ("damaged", "repaired"),
    [
        ("|w_{1j}|_2^2 + |w_{2j}|^2", "\\|w_{1j}\\|_2^2 + |w_{2j}|^2"),
        (
            "\\left| \\frac{w_{1j}}{\\alpha_j} \\right|_2^2",
            "\\left\\| \\frac{w_{1j}}{\\alpha_j} \\right\\|_2^2",
        ),
        (
            "|\\mathcal{A}^\\top v|_\\infty \\le \\lambda",
            "\\|\\mathcal{A}^\\top v\\|_\\infty \\le \\lambda",
        ),
        ("|v^\\top\\phi_j| \\le \\lambda", "|v^\\top\\phi_j| \\le \\lambda"),
        ("|\\dots - y|^2", "\\|\\dots - y\\|^2"),
        ("\\min_x |A x - y|^2 + \\lambda |x|_1", "\\min_x \\|A x - y\\|^2 + \\lambda \\|x\\|_1"),
        ("p(x|z)", "p(x|z)"),
    ],
)
def test_norm_bars(damaged: str, repaired: str) -> None:
    tex, _, judg = repair_tex(damaged, False)
    assert tex == repaired
    assert judg["norm_bars"] == repaired.count("\\|") // 2


@pytest.mark.parametrize(
    ("damaged", "repaired", "kind"),
    [
        (
            "\\nabla_\\phi , \\mathbb{E}_{x}[f]",
            "\\nabla_\\phi \\, \\mathbb{E}_{x}[f]",
            "thin_space",
        ),
        ("-\\int p(A) \\log p(A) , dA", "-\\int p(A) \\log p(A) \\, dA", "thin_space"),
        (
            "\\sigma(c,t) = c,\\sigma(t), \\quad c \\ge 0",
            "\\sigma(c,t) = c\\,\\sigma(t), \\quad c \\ge 0",
            "thin_space",
        ),
        ("2\\|W_{1j}\\|_2 , |W_{2j}|", "2\\|W_{1j}\\|_2 \\, |W_{2j}|", "thin_space"),
        (
            "\\sigma\\big(X u\\big),\\frac{c_j}{2}",
            "\\sigma\\big(X u\\big)\\,\\frac{c_j}{2}",
            "thin_space",
        ),
        ("D_{\\mathrm{KL}}!\\bigl(q", "D_{\\mathrm{KL}}\\!\\bigl(q", "neg_space"),
        (
            "\\Phi = {\\sigma(Xu) \\mid \\|u\\|_2=1}",
            "\\Phi = \\{\\sigma(Xu) \\mid \\|u\\|_2=1\\}",
            "brace_escape",
        ),
        ("{\\alpha_j}", "\\{\\alpha_j\\}", "brace_escape"),
        (
            "{\\mathbf{x}_i}_{i=1}^n \\sim \\mathcal{D}",
            "\\{\\mathbf{x}_i\\}_{i=1}^n \\sim \\mathcal{D}",
            "brace_escape",
        ),
        ("\\mathbb{E}{p{\\psi}(x)}[f(x)]", "\\mathbb{E}_{p_{\\psi}(x)}[f(x)]", "lost_subscript"),
    ],
)
def test_judgement_calls(damaged: str, repaired: str, kind: str) -> None:
    tex, _, judg = repair_tex(damaged, False)
    assert tex == repaired
    assert judg[kind] >= 1


@pytest.mark.parametrize(
    "tex",
    [
        "(\\boldsymbol{\\mu},\\boldsymbol{\\sigma}) = f_{\\theta}(\\mathbf{x}),\\quad z_i",
        "\\mathcal{N}\\bigl(\\mu_i,\\sigma_i^2\\bigr)",
        "n! = \\prod_{i=1}^n i",
        "\\max_{k=1, \\dots, p} x_k",
        "f: \\{0, 1\\}^K \\to \\mathbb{R}",
        "\\frac{a}{b} + \\sqrt{x}",
        "e^{x_{i}} \\text{ and } \\mathrm{d}x",
        "g(a , b) + \\frac{n!}{r!\\left(n-r\\right)!}",
        "p(x;\\theta) = \\sum{a_i} + {}^{14}C",
        "\\alpha,\\beta \\in \\mathbb{R}, \\quad f(x,\\sigma(y))",
    ],
)
def test_intact_tex_is_left_alone(tex: str) -> None:
    fixed, rows, judg = repair_tex(tex, False)
    assert fixed == tex
    assert rows == 0 and sum(judg.values()) == 0


# --- delimiters ---------------------------------------------------------------------------------


def test_dollar_signs_in_prose_are_not_math() -> None:
    assert texs("<p>花了 $5 和 $10，价格 \\$3 to $4.</p>") == []
    assert texs("<p>cost: $5 and more $</p>") == []


def test_spaces_inside_dollars_only_for_unmistakable_tex() -> None:
    assert texs("<p>概率分布：$ \\mathcal{D} $, 采样：$x \\sim \\mathcal{D}$</p>") == [
        "\\mathcal{D}",
        "x \\sim \\mathcal{D}",
    ]


def test_other_delimiters_and_blocks() -> None:
    html = (
        '<p>where <span class="math">\\( R\\)</span> is</p>'
        '<div class="math">$$ p = \\rho R T $$</div><p>\\[a^2\\]</p>'
    )
    result = protect_math(html)
    assert [(f.tex.strip(), f.display) for f in result.formulas] == [
        ("R", False),
        ("p = \\rho R T", True),
        ("a^2", True),
    ]


def test_segments_never_cross_blocks_or_scripts() -> None:
    html = "<p>price $x</p><p>y$ end</p><script>var a = '$b$';</script><pre>$c$</pre>"
    assert texs(html) == []


def test_stray_dollars_of_converted_wordpress_math() -> None:
    html = '<p>at height <span class="math">\\( z\n$. At height $ z + dz\\)</span> the</p>'
    result = protect_math(html)
    assert [f.tex.strip() for f in result.formulas] == ["z", "z + dz"]
    assert ". At height" in re.sub(r"<[^>]+>", "", result.html)


def test_entities_are_decoded_in_tex_and_kept_in_text() -> None:
    result = protect_math("<p>$\\alpha_j &gt; 0$ &amp; &lt;b&gt;</p>")
    assert result.formulas[0].tex == "\\alpha_j > 0"
    assert "&amp; &lt;b&gt;" in result.html
