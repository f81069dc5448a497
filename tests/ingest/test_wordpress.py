"""WordPress as WordPress shows it (server/ingest/wordpress/): wpautop, shortcodes, WP-Syntax, and
exports (WXR) whose attachments, menu items, drafts and the like are not posts.

Hand-made cases (Chinese and English) assert the Markdown exactly and that every formula renders
in KaTeX; the real export of a Chinese technical blog (../shared/data/feeds) asserts the build
report's counts, that nothing but its published posts and pages is written, and that no formula
is made from its shell, PHP and nginx text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from server.config import settings_for
from server.ingest.build import build
from server.ingest.feed import parse_feed
from server.ingest.markdown import html_to_markdown
from server.ingest.posts import parse_post
from server.ingest.wordpress import render_raw
from server.ingest.wordpress.autop import wpautop
from tests.ingest.test_katex import katex_errors

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
WP = "{http://wordpress.org/export/1.2/}"

# raw post content -> the HTML WordPress's wpautop makes of it
AUTOP: list[tuple[str, str]] = [
    (
        "a\nb",
        "<p>a<br />\nb</p>\n",
    ),
    (
        "a\n\nb",
        "<p>a</p>\n<p>b</p>\n",
    ),
    (
        "Line one\nline two\n\n<pre>keep\n\nthis</pre>\nafter",
        "<p>Line one<br />\nline two</p>\n<pre>keep\n\nthis</pre>\n<p>after</p>\n",
    ),
    (
        "<blockquote>q1\nq2\n\nq3</blockquote>",
        "<blockquote><p>q1<br />\nq2</p>\n<p>q3</p></blockquote>\n",
    ),
    (
        "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\ntext",
        "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n<p>text</p>\n",
    ),
    (
        "<div>block</div>\ntext<br>\n<br>more",
        "<div>block</div>\n<p>text</p>\n<p>more</p>\n",
    ),
    (
        "<script>var a = 1;\nvar b = 2;</script>",
        "<p><script>var a = 1;\nvar b = 2;</script></p>\n",
    ),
    (
        "<h2>Title</h2>\n第一段\n\n第二段",
        "<h2>Title</h2>\n<p>第一段</p>\n<p>第二段</p>\n",
    ),
]

# raw export content -> (Markdown, rendered by kind, unknown shortcodes by name)
SHORTCODES: dict[str, tuple[str, str, dict[str, int], dict[str, int]]] = {
    "gutenberg_blocks_no_autop_en": (
        "<!-- wp:paragraph -->\n<p>One line\nstill one</p>\n<!-- /wp:paragraph -->\n\n"
        '<!-- wp:code -->\n<pre class="wp-block-code"><code>a\n\nb</code></pre>\n<!-- /wp:code -->',
        "One line still one\n\n```\na\n\nb\n```\n",
        {},
        {},
    ),
    "code_language_bash_en": (
        (
            'Reload it:\n\n[code language="bash"]\nsudo nginx -s reload &amp;&amp; echo "$?"\n['
            "/code]\n\nDone."
        ),
        'Reload it:\n\n```bash\nsudo nginx -s reload && echo "$?"\n```\n\nDone.\n',
        {"code": 1},
        {},
    ),
    "sourcecode_lang_zh": (
        (
            '示例代码：\n[sourcecode lang="python"]\nif a &lt; b and c &gt; d:\n    print("小于'
            '")\n[/sourcecode]'
        ),
        '示例代码：\n\n```python\nif a < b and c > d:\n    print("小于")\n```\n',
        {"code": 1},
        {},
    ),
    "php_shortcode_double_escaped_en": (
        '[php]\n$html = "&amp;lt;b&amp;gt;";  // shows &lt;b&gt;\n[/php]',
        '```php\n$html = "&lt;b&gt;";  // shows <b>\n```\n',
        {"code": 1},
        {},
    ),
    "code_plain_zh": (
        "[code]\nmake -j4 CC=$(which gcc)\n[/code]",
        "```\nmake -j4 CC=$(which gcc)\n```\n",
        {"code": 1},
        {},
    ),
    "wp_syntax_raw_lt_en": (
        '<pre lang="c">#include <stdio.h>\nint main(void) { return 1 &lt; 2; }</pre>',
        "```c\n#include <stdio.h>\nint main(void) { return 1 < 2; }\n```\n",
        {"wp_syntax": 1},
        {},
    ),
    "wp_syntax_escaped_zh": (
        (
            '注意转义：\n<pre lang="python" escaped="true">print(&quot;a &amp;lt; b&quot;)  # '
            "显示 &amp;lt;</pre>"
        ),
        '注意转义：\n\n```python\nprint("a &lt; b")  # 显示 &lt;\n```\n',
        {"wp_syntax": 1},
        {},
    ),
    "latex_shortcode_en": (
        (
            "Energy [latex]E = mc^2[/latex] and $latex \\int_0^1 x\\,dx = \\frac{1}{2}&amp;bg=f"
            "fffff&amp;fg=000000&amp;s=2$ here."
        ),
        "Energy $E = mc^2$ and $\\int_0^1 x\\,dx = \\frac{1}{2}$ here.\n",
        {"latex": 2},
        {},
    ),
    "latex_dollar_zh": (
        "由 $latex \\sum_{i=1}^n i = \\frac{n(n+1)}{2}&bg=T&s=1$ 可知。",
        "由 $\\sum_{i=1}^n i = \\frac{n(n+1)}{2}$ 可知。\n",
        {"latex": 1},
        {},
    ),
    "caption_en": (
        (
            '[caption id="attachment_7" align="alignright" width="200"]<img src="https://x.exam'
            'ple/a.png" alt="A plot" width="200" height="100" /> Yield curve, 2024[/caption]\nT'
            "ext after."
        ),
        "![A plot](https://x.example/a.png)\n\nYield curve, 2024\n\nText after.\n",
        {"caption": 1},
        {},
    ),
    "caption_attr_zh": (
        (
            '[caption id="" align="aligncenter" width="300" caption="收益率曲线"]<a href="https'
            '://x.example/b.png"><img src="https://x.example/b-300.png" alt="曲线" /></a>[/capt'
            "ion]"
        ),
        "[![曲线](https://x.example/b-300.png)](https://x.example/b.png)\n\n收益率曲线\n",
        {"caption": 1},
        {},
    ),
    "gist_embed_en": (
        (
            "Gist: [gist]https://gist.github.com/octo/abc123[/gist]\n\n[embed]https://www.youtu"
            "be.com/watch?v=dQw4w9WgXcQ[/embed]"
        ),
        (
            "Gist: <https://gist.github.com/octo/abc123>\n\n<https://www.youtube.com/watch?v=dQ"
            "w4w9WgXcQ>\n"
        ),
        {"embed": 1, "gist": 1},
        {},
    ),
    "unknown_and_escaped_en": (
        (
            'Form: [contact-form-7 id="12" title="Contact"]\n\nWrite [[code]] to show a shortco'
            "de. Options [NC] stay."
        ),
        (
            'Form: \\[contact-form-7 id="12" title="Contact"\\]\n\nWrite \\[code\\] to show a s'
            "hortcode. Options \\[NC\\] stay.\n"
        ),
        {},
        {"contact-form-7": 1},
    ),
    "in_code_untouched_zh": (
        "用 <code>[php]echo 1;[/php]</code> 包住代码，或者 [language]。",
        "用 `[php]echo 1;[/php]` 包住代码，或者 \\[language\\]。\n",
        {},
        {},
    ),
    "shell_paragraphs_zh": (
        "在终端里：\n$ cd $HOME\n$ ls -la $PWD\n\n然后 export PATH=$HOME/bin:$PATH 即可。",
        (
            "在终端里：\\\n\\$ cd \\$HOME\\\n\\$ ls -la \\$PWD\n\n然后 export PATH=\\$HOME/bin:"
            "\\$PATH 即可。\n"
        ),
        {},
        {},
    ),
}


@pytest.mark.parametrize(("raw", "expected"), AUTOP)
def test_wpautop(raw: str, expected: str) -> None:
    assert wpautop(raw) == expected


@pytest.mark.parametrize("name", sorted(SHORTCODES))
def test_shortcodes(name: str) -> None:
    raw, markdown, rendered, unknown = SHORTCODES[name]
    conv = html_to_markdown(raw, wordpress=True)
    assert conv.markdown == markdown
    assert conv.math.shortcodes == rendered
    assert conv.math.unknown_shortcodes == unknown


def test_shortcode_formulas_render_in_katex() -> None:
    formulas = [
        f for raw, *_ in SHORTCODES.values() for f in html_to_markdown(raw, wordpress=True).formulas
    ]
    assert len(formulas) == 3
    assert all("latex" not in tex and "bg=" not in tex for tex, _ in formulas)
    assert katex_errors(formulas) == []


def test_syntaxhighlighter_in_a_feed_is_decoded_once() -> None:
    # a WordPress feed is already rendered: its <pre class="brush"> holds HTML-escaped code
    html = '<pre class="brush: python; gutter: true">if a &lt; b: s = "&amp;lt;"</pre>'
    assert html_to_markdown(html).markdown == '```python\nif a < b: s = "&lt;"\n```\n'


def test_unrendered_latex_in_a_feed_is_math_without_the_word() -> None:
    conv = html_to_markdown("<p>So $latex x^2 + y^2&amp;bg=ffffff&amp;s=1$ holds.</p>")
    assert conv.formulas == (("x^2 + y^2", False),)
    assert conv.math.recovered == {"wordpress_latex": 1}


def test_render_is_bounded_on_many_unclosed_shortcodes() -> None:
    raw = "[code lang=x] [latex] [caption] " * 3000 + "\n\n" + "$latex a " * 2000
    rendered = render_raw(raw)
    assert rendered.shortcodes == {"latex": 1000}  # "$latex a $" pairs; nothing else closes
    assert rendered.html.count("<p>") == 2


# --- a hand-made export ------------------------------------------------------------------------


def test_wxr_items() -> None:
    feed = parse_feed((FIXTURES / "wordpress_export.xml").read_bytes())
    assert feed.wxr
    kinds = [(i.post_type, i.status) for i in feed.items]
    assert kinds == [
        ("post", "publish"),
        ("post", "publish"),
        ("page", "publish"),
        ("attachment", "inherit"),
        ("nav_menu_item", "publish"),
        ("post", "draft"),
        ("post", "private"),
        ("post", "trash"),
        ("revision", "inherit"),
        ("post", "publish"),
        ("post", "password"),  # published behind a password
    ]
    nginx, ridge, about = feed.items[:3]
    assert nginx.slug == "配置-nginx" and nginx.published == "2024-01-15T08:00:00Z"
    assert nginx.categories == ("运维",) and nginx.tags == ("nginx", "PHP")
    assert nginx.raw and "谢谢" not in nginx.html  # a comment is not the post
    assert nginx.author == "老王 Wang"  # dc:creator's login, shown as the display name
    assert about.published == "2024-01-03T08:00:00Z"  # post_date_gmt is zero: post_date
    assert feed.items[5].published is None  # a draft's dates are zero (its pubDate says 1970)
    assert ridge.categories == ("Math",) and ridge.tags == ()


def test_wxr_build_writes_published_posts_and_pages_only(tmp_path: Path) -> None:
    report = build(settings_for(tmp_path), FIXTURES / "wordpress_export.xml", "", tools=[])
    assert report.written == [  # 运维/配置-nginx: no section or slug the router would refuse
        "content/posts/posts/nginx.md",
        "content/posts/math/ridge.md",
        "content/posts/pages/about.md",
    ]
    assert report.skipped == {
        "attachment": 1,
        "draft": 1,
        "nav_menu_item": 1,
        "password": 1,
        "private": 1,
        "revision": 1,
        "trash": 1,
        "untitled": 1,
    }
    text = report.format()
    assert (
        "  skipped 8 item(s) that are not published posts or pages: attachment 1, draft 1, "
        "nav_menu_item 1, password 1, private 1, revision 1, trash 1, untitled 1"
    ) in text
    assert "  dollar spans kept as text: 3 (code 3)" in text
    assert (
        "  wordpress markup rendered: caption 1, code 2, gist 1, latex 2, wp_syntax 1; "
        "unknown shortcodes kept as text: 1 ([tweet] 1)"
    ) in text
    nginx = parse_post((tmp_path / report.written[0]).read_text(encoding="utf-8"))
    assert nginx.body == NGINX_BODY
    ridge = parse_post((tmp_path / report.written[1]).read_text(encoding="utf-8"))
    assert ridge.body == RIDGE_BODY
    assert parse_post((tmp_path / report.written[2]).read_text(encoding="utf-8")).section == "pages"
    assert katex_errors([(t, False) for t in re.findall(r"\$([^$]+)\$", RIDGE_BODY)]) == []


NGINX_BODY = (
    "# Nginx 与 PHP-FPM 配置\n\n先装好 nginx，然后在 server 块里加上：\n\n"
    "> location ~ \\\\.php\\$ {\\\n> fastcgi_pass 127.0.0.1:9000;\\\n"
    "> fastcgi_param SCRIPT_FILENAME \\$document_root\\$fastcgi_script_name;\\\n"
    "> fastcgi_param QUERY_STRING \\$query_string;\\\n> }\n\n"
    "重启之后用 \\$ curl -I localhost 看看。\n\n"
    "```bash\nsudo systemctl reload nginx && echo $?\n```\n\n"
    "```php\n<?php echo $_GET['id'] ?? \"none\"; // &lt;b&gt;\n```\n"
)
RIDGE_BODY = (
    "# Least squares with a ridge\n\n"
    "The ridge estimate minimises $\\|Xw - y\\|^2 + \\lambda \\|w\\|^2$, so\\\n"
    "$\\hat w = (X^\\top X + \\lambda I)^{-1} X^\\top y$.\n\n"
    "For $n$ samples the cost is cubic in the features.\n\n"
    "[![ridge path](https://notes.example.cn/wp-content/uploads/ridge-300x200.png)]"
    "(https://notes.example.cn/wp-content/uploads/ridge.png)\n\n"
    "Coefficients along the ridge path\n\n"
    'See <https://gist.github.com/0a1b2c3d> and \\[tweet id="42"\\].\n\n'
    "```python\ndef ridge(X, y, lam):\n"
    "    return np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y)\n```\n"
)


# --- the real export ---------------------------------------------------------------------------


def test_real_wordpress_export(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / "feeds" / "cedricporter_wordpress_export.xml"
    report = build(settings_for(tmp_path), path, "", tools=[])
    # what the export holds, read independently with ElementTree
    items = ET.fromstring(path.read_bytes()).findall("channel/item")
    published = {
        (i.findtext("guid") or "").strip()
        for i in items
        if i.findtext(f"{WP}post_type") in ("post", "page")
        and i.findtext(f"{WP}status") == "publish"
    }
    assert len(items) == 440 and len(published) == 101
    written = {parse_post((tmp_path / p).read_text(encoding="utf-8")).guid for p in report.written}
    assert written == published  # no attachment, menu item, draft or private post
    assert report.skipped == {"attachment": 321, "draft": 6, "nav_menu_item": 11, "private": 1}
    assert report.math is not None
    assert report.math.formulas == 0  # a blog without math: its $ are shell, PHP and nginx
    assert report.math.text_spans == {"code": 13, "prose": 1, "spaced": 3}
    assert report.math.shortcodes == {"wp_syntax": 108}
    assert report.math.unknown_shortcodes == {}
    # every WP-Syntax block keeps its language (lang="text"/"txt" name none)
    langs = [
        m.group(1)
        for i in items
        if (i.findtext("guid") or "").strip() in published
        for m in re.finditer(r'<pre lang="([^"]+)"', i.findtext(f"{{{CONTENT}}}encoded") or "")
    ]
    named = [lang for lang in langs if lang not in ("text", "txt")]
    assert report.math.recovered == {"code_language": len(named)} == {"code_language": 103}
    fences: list[str] = []
    for rel in report.written:
        body = (tmp_path / rel).read_text(encoding="utf-8")
        fences += re.findall(r"^```([a-z+#]*)$", body, re.M)[::2]
        prose = re.sub(r"^```.*?^```", "", body, flags=re.M | re.S)
        for span in re.findall(r"(?<!\\)\$([^$\n]+?)(?<!\\)\$", prose):
            assert not span.rstrip().endswith(";") and "fastcgi_param" not in span, span
    assert sorted(f for f in fences if f) == sorted(named)


CONTENT = "http://purl.org/rss/1.0/modules/content/"


# --- a WordPress feed (already rendered): its plugins' math and code markup --------------------

FEED_MARKUP: dict[str, tuple[str, str]] = {
    "katex_plugin": (
        '<p>KaTeX <span class="katex-eq" data-katex-display="false">a &lt; b_i</span>:</p>'
        '<p><span class="katex-eq" data-katex-display="true">\\sum_i x_i</span></p>',
        "KaTeX $a < b_i$:\n\n$$\n\\sum_i x_i\n$$\n",
    ),
    "quicklatex": (
        '<p>So <img src="https://b.example/wp-content/ql-cache/quicklatex.com-1a_l3.png" '
        'class="ql-img-inline-formula quicklatex-auto-format" '
        'alt="&#92;&#102;&#114;&#97;&#99;&#123;a&#125;&#123;b&#125;" /> holds.</p>'
        '<p><img src="https://b.example/ql-cache/quicklatex.com-9_l3.png" '
        'class="ql-img-displayed-equation" alt="\\[ x^2 + y^2 = 1 \\]" /></p>',
        "So $\\frac{a}{b}$ holds.\n\n$$\nx^2 + y^2 = 1\n$$\n",
    ),
    "unrendered_latex_shortcode_zh": (
        "<p>面积 [latex]\\pi r^2[/latex]，代码 <code>[latex]x[/latex]</code> 不变。</p>",
        "面积 $\\pi r^2$，代码 `[latex]x[/latex]` 不变。\n",
    ),
    "crayon": ('<pre class="lang:python decode:true">print(1)</pre>', "```python\nprint(1)\n```\n"),
    "crayon_default": ('<pre class="lang:default decode:true">x</pre>', "```\nx\n```\n"),
    "enlighter": (
        '<pre class="EnlighterJSRAW" data-enlighter-language="php">echo 1;</pre>',
        "```php\necho 1;\n```\n",
    ),
    "wp_syntax_geshi": (
        '<div class="wp_syntax"><table><tr><td class="line_numbers"><pre>1\n2\n</pre></td>'
        '<td class="code"><pre class="python" style="font-family:monospace;">'
        '<span class="kw1">if</span> a &amp;lt; b:\n    c</pre></td></tr></table></div>',
        "```python\nif a &lt; b:\n    c\n```\n",
    ),
    "markdown_code_class": (
        '<pre><code class="python">x = 1</code></pre>',
        "```python\nx = 1\n```\n",
    ),
    "unknown_code_class": ('<pre><code class="foo">x = 1</code></pre>', "```\nx = 1\n```\n"),
}


@pytest.mark.parametrize("name", sorted(FEED_MARKUP))
def test_wordpress_feed_markup(name: str) -> None:
    html, markdown = FEED_MARKUP[name]
    conv = html_to_markdown(html)
    assert conv.markdown == markdown
    assert katex_errors(list(conv.formulas)) == []


def test_a_malformed_export_keeps_its_post_types() -> None:
    # WordPress exports often hold bytes XML forbids; the lenient parse still reads the wp: fields
    data = (FIXTURES / "wordpress_export.xml").read_bytes()
    bad = data.replace(b"<title>Private diary</title>", b"<title>Private & diary\x01</title>")
    feed = parse_feed(bad)
    assert feed.malformed and feed.wxr
    assert [(i.post_type, i.status) for i in feed.items] == [
        (i.post_type, i.status) for i in parse_feed(data).items
    ]
