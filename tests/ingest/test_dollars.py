"""Dollars that are not math stay text (server/ingest/mathfix/dollars.py).

Hand-made cases, Chinese and English: shell, PHP, nginx, Apache, Makefile and LaTeX source written
in prose and blockquotes, prices, a Windows path; and math that must stay math, with and without
math elsewhere in the feed. Each asserts the Markdown exactly, the reasons counted, and that every
formula renders in KaTeX.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from server.ingest.markdown import html_to_markdown
from server.ingest.mathfix import math_evidence
from server.ingest.mathfix.dollars import classify
from server.ingest.mathfix.katex_names import KATEX_NAMES
from tests.ingest.test_katex import katex_errors

REPO = Path(__file__).resolve().parents[2]

# name: (HTML, feed_math, expected Markdown, spans kept as text by reason)
CASES: dict[str, tuple[str, bool | None, str, dict[str, int]]] = {
    "perl_math_feed_en": (
        "<p>In Perl, my $x = $y + 1; prints $x.</p>",
        True,
        "In Perl, my \\$x = \\$y + 1; prints \\$x.\n",
        {"code": 1, "spaced": 1},
    ),
    "jquery_math_feed_en": (
        '<p>jQuery: $(document).ready(function(){ $("#id").hide(); });</p>',
        True,
        'jQuery: \\$(document).ready(function(){ \\$("#id").hide(); });\n',
        {"unbalanced": 1},
    ),
    "php_lines_math_feed_zh": (
        "<p>连接：$conn = mysql_connect($host, $user, $pass);<br />"
        'if (!$conn) { die("no"); }<br />echo $row["name"];</p>',
        True,
        "连接：\\$conn = mysql_connect(\\$host, \\$user, \\$pass);\\\n"
        'if (!\\$conn) { die("no"); }\\\necho \\$row\\["name"\\];\n',
        {"code": 3, "spaced": 2},
    ),
    "glued_and_ordinals_math_feed_en": (
        "<p>Set root$fastcgi_script_name, the $n$th and the $k$-th.</p>",
        True,
        "Set root\\$fastcgi_script_name, the $n$th and the $k$-th.\n",
        {"code": 1},
    ),
    "shell_blockquote_en": (
        (
            "<p>Set the path:</p><blockquote>$ export PATH=$HOME/bin:$PATH<br>$ echo $PATH<br>$ ls "
            "$HOME/.vim</blockquote>"
        ),
        None,
        (
            "Set the path:\n\n> \\$ export PATH=\\$HOME/bin:\\$PATH\\\n> \\$ echo \\$PATH\\\n> \\$ "
            "ls \\$HOME/.vim\n"
        ),
        {"code": 4, "spaced": 2},
    ),
    "shell_prose_zh": (
        "<p>运行 cd $HOME 然后 echo $SHELL 查看，或者 kill $$ 结束。</p>",
        None,
        "运行 cd \\$HOME 然后 echo \\$SHELL 查看，或者 kill \\$\\$ 结束。\n",
        {"spaced": 1},
    ),
    "php_prose_zh": (
        (
            "<p>先用 $parser = xml_parser_create(); 创建解析器，再用 $data = fread($fp, 4096); "
            "读入数据。</p>"
        ),
        None,
        (
            "先用 \\$parser = xml_parser_create(); 创建解析器，再用 \\$data = fread(\\$fp, 4096"
            "); 读入数据。\n"
        ),
        {"code": 1, "spaced": 1},
    ),
    "php_object_en": (
        "<p>Call $this->name and read $_GET['id'] before $user_id is set.</p>",
        None,
        "Call \\$this->name and read \\$\\_GET\\['id'\\] before \\$user_id is set.\n",
        {"code": 1, "spaced": 1},
    ),
    "nginx_blockquote_zh": (
        (
            "<p>配置如下：</p><blockquote>location ~ \\.php$ {<br>fastcgi_param QUERY_STRIN"
            "G $query_stri"
            "ng;<br>fastcgi_param REQUEST_METHOD $request_method;<br>fastcgi_param SCRIPT_NAME $fas"
            "tcgi_script_name;<br>}</blockquote>"
        ),
        None,
        (
            "配置如下：\n\n> location ~ \\\\.php\\$ {\\\n> fastcgi_param QUERY_STRING \\$qu"
            "ery_string;\\"
            "\n> fastcgi_param REQUEST_METHOD \\$request_method;\\\n> fastcgi_param SCRIPT_NAME \\$"
            "fastcgi_script_name;\\\n> }\n"
        ),
        {"code": 3},
    ),
    "makefile_prose_en": (
        "<p>The rule is $(CC)$(CFLAGS) -o $@ $^ and then $(shell uname -r)$ for the kernel.</p>",
        None,
        (
            "The rule is \\$(CC)\\$(CFLAGS) -o \\$@ \\$^ and then \\$(shell uname -r)\\$ for the ke"
            "rnel.\n"
        ),
        {"code": 3, "spaced": 2},
    ),
    "makefile_blockquote_zh": (
        (
            "<blockquote>all: main.o<br>$(CC) -o app $^<br>%.o: %.c<br>$(CC) -c $&lt; -o $@</blockq"
            "uote>"
        ),
        None,
        "> all: main.o\\\n> \\$(CC) -o app \\$^\\\n> %.o: %.c\\\n> \\$(CC) -c \\$< -o \\$@\n",
        {"code": 1, "spaced": 3},
    ),
    "latex_source_en": (
        (
            "<p>A minimal file:<br>\\documentclass{article}<br>\\begin{document}<br>Einstein wrote "
            "$E=mc^2$.<br>\\end{document}</p>"
        ),
        None,
        (
            "A minimal file:\\\n\\\\documentclass{article}\\\n\\\\begin{document}\\\nEinstein wrote"
            " \\$E=mc^2\\$.\\\n\\\\end{document}\n"
        ),
        {"latex_source": 3},
    ),
    "latex_source_zh": (
        "<blockquote>\\usepackage{amsmath}<br>公式 $\\alpha + \\beta$ 写在正文里。</blockquote>",
        None,
        "> \\\\usepackage{amsmath}\\\n> 公式 \\$\\\\alpha + \\\\beta\\$ 写在正文里。\n",
        {"latex_source": 2},
    ),
    "apache_zh": (
        (
            "<blockquote>RewriteCond %{HTTP_REFERER} !^$<br>RewriteRule .*\\.(gif|jpg)$ http://exam"
            "ple.org/no.png [R,NC]</blockquote>"
        ),
        None,
        (
            "> RewriteCond %{HTTP_REFERER} !^\\$\\\n> RewriteRule .\\*\\\\.(gif|jpg)\\$ http://exam"
            "ple.org/no.png \\[R,NC\\]\n"
        ),
        {"code": 1},
    ),
    "prices_en": (
        "<p>It costs $5 and the pro plan $10, or $ 20 a year.</p>",
        None,
        "It costs \\$5 and the pro plan \\$10, or \\$ 20 a year.\n",
        {"price": 1, "spaced": 1},
    ),
    "windows_path_en": (
        "<p>Copy it to $C:\\Users\\Cedric$ first.</p>",
        None,
        "Copy it to \\$C:\\\\Users\\\\Cedric\\$ first.\n",
        {"code": 1},
    ),
    "plain_no_math_feed": (
        "<p>Let $x$ be the count and $n$ the size.</p>",
        False,
        "Let \\$x\\$ be the count and \\$n\\$ the size.\n",
        {"no_math": 2, "spaced": 1},
    ),
    "plain_math_feed": (
        "<p>Let $x$ be the count and $n$ the size.</p>",
        True,
        "Let $x$ be the count and $n$ the size.\n",
        {},
    ),
    "strong_no_math_feed_zh": (
        "<p>损失为 $\\frac{1}{n}\\sum_i (y_i - \\hat y_i)^2$，其中 $n$ 是样本数。</p>",
        False,
        "损失为 $\\frac{1}{n}\\sum_i (y_i - \\hat y_i)^2$，其中 $n$ 是样本数。\n",
        {},
    ),
    "script_no_math_feed_en": (
        "<p>The area grows as $r^2$ while $x_1 + x_2$ stays fixed.</p>",
        False,
        "The area grows as $r^2$ while $x_1 + x_2$ stays fixed.\n",
        {},
    ),
    "markup_evidence_en": (
        '<p>Let $n$ be the size and <script type="math/tex">k \\le n</script> the rank.</p>',
        False,
        "Let $n$ be the size and $k \\le n$ the rank.\n",
        {},
    ),
    "cjk_formula_math_feed_zh": (
        "<p>$Loss = BCE 重建损失 - 熵正则化 + 常数$</p>",
        True,
        "$Loss = BCE 重建损失 - 熵正则化 + 常数$\n",
        {},
    ),
    "display_math_en": (
        (
            "<p>The identity</p><p>$$e^{i\\pi} + 1 = 0$$</p><p>holds; so does $p(x;\\theta) \\ne 0$"
            ".</p>"
        ),
        False,
        "The identity\n\n$$\ne^{i\\pi} + 1 = 0\n$$\n\nholds; so does $p(x;\\theta) \\ne 0$.\n",
        {},
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(name: str) -> None:
    html, feed_math, markdown, kept = CASES[name]
    conv = html_to_markdown(html, feed_math=feed_math)
    assert conv.markdown == markdown
    assert conv.math.text_spans == kept


def test_no_formula_is_made_from_code() -> None:
    code = [
        n
        for n in CASES
        if not n.startswith(
            ("plain_", "strong_", "script_", "markup_", "cjk_formula", "display_", "glued_")
        )
    ]
    for name in code:
        html, feed_math, _, _ = CASES[name]
        for math_feed in (feed_math, True):
            assert html_to_markdown(html, feed_math=math_feed).formulas == (), name


def test_every_formula_renders_in_katex() -> None:
    formulas = [
        f
        for html, fm, _, _ in CASES.values()
        for f in html_to_markdown(html, feed_math=fm).formulas
    ]
    assert len(formulas) == 13
    assert katex_errors(formulas) == []


def test_math_evidence() -> None:
    assert math_evidence("<p>$\\alpha$</p>")
    assert math_evidence('<p><img src="https://s0.wp.com/latex.php?latex=x&amp;bg=ffffff"></p>')
    assert math_evidence('<script src="https://cdn.example/mathjax/tex-chtml.js"></script>')
    assert not math_evidence("<p>$x$ and $HOME/bin</p>")
    assert not math_evidence("<p>Copy to $\\Users\\Cedric$</p>")  # not a command KaTeX knows


@pytest.mark.parametrize(
    ("body", "after", "verdict"),
    [
        ("\\alpha_j > 0", "", "tex"),
        ("x", "", "plain"),
        ("n", "th element", "plain"),
        ("query_string;", "", "code"),
        ("a", "request_method", "code"),
        ("HOME/.vimrc", "", "code"),
        ("5) and (", "", "unbalanced"),
        ("x^2 + {y", "", "unbalanced"),
        ("是一个变量，然后", "", "prose"),
        ("f(x) = x if x is the largest of them", "", "prose"),
        ("D(q \\parallel p) != D(p \\parallel q)", "", "tex"),  # the seed writes != in TeX
        ("p(x; w_1)", "", "tex"),  # a semicolon in math, not a statement
        ("A->B", "", "plain"),  # an arrow between single letters is an author's math
        ("node->next", "", "code"),
        ("a_1，a_2", "", "tex"),  # a full-width comma alone is not a CJK sentence
    ],
)
def test_classify(body: str, after: str, verdict: str) -> None:
    assert classify(body, after) == verdict


def test_katex_names_match_katex() -> None:
    node = shutil.which("node")
    assert node and (REPO / "node_modules" / "katex").is_dir()
    proc = subprocess.run(
        [node, str(REPO / "tests" / "ingest" / "katex_names.mjs")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert frozenset(proc.stdout.split()) == KATEX_NAMES
