"""Issue 20, defects a browser shows (headless Chromium through the DevTools protocol, against
the real server): the tool form's result table and error answers (defect 5), and bold math in
the HTML view (defect 4)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import Server, running_server
from tests.web.cdp import Page, chromium_page
from tests.web.test_browser import chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(db=tmp_path_factory.mktemp("views") / "bandit.sqlite") as srv:
        yield srv


def evaluate(page: Page, expression: str) -> Any:
    result = page.call("Runtime.evaluate", expression=expression, returnByValue=True)
    assert "exceptionDetails" not in result, result
    return result["result"].get("value")


def submit(page: Page) -> None:
    page.events.clear()
    page.click("#try button")
    page.wait("Page.loadEventFired")


@pytest.mark.slow
def test_long_field_names_stay_in_their_column(server: Server, tmp_path: Path) -> None:
    """``recession_probability_method`` (28 characters) and its peers wrap inside the field
    column instead of running over the value column."""
    with chromium_page(chromium(), tmp_path / "profile", width=800) as page:
        page.goto(f"{server.url}/tools/yield_spread_check")
        submit(page)
        cells = evaluate(
            page,
            """[...document.querySelectorAll('#result table.result tr')].slice(1).map(tr => {
                const th = tr.querySelector('th'), td = tr.querySelector('td');
                const a = th.getBoundingClientRect(), b = td.getBoundingClientRect();
                return {name: th.textContent, scroll: th.scrollWidth, client: th.clientWidth,
                        thRight: a.right, tdLeft: b.left};
            })""",
        )
    names = [cell["name"] for cell in cells]
    assert "recession_probability_method" in names, names
    for cell in cells:
        assert cell["scroll"] <= cell["client"], cell  # nothing overflows the cell
        assert cell["thRight"] <= cell["tdLeft"] + 0.5, cell


@pytest.mark.slow
def test_an_error_answer_jumps_to_the_error(server: Server, tmp_path: Path) -> None:
    """The form posts to ``#result``; an answer with an error has that anchor at the error, so
    the browser scrolls to the field's message (it stayed at the top, the error below the
    fold, with nothing to jump to)."""
    with chromium_page(chromium(), tmp_path / "profile", width=900, height=700) as page:
        page.goto(f"{server.url}/tools/ucb_simulate")
        fields = evaluate(page, "[...document.querySelectorAll('textarea')].map(t => t.name)")
        last = fields[-1]
        page.type_into(f"#field-{last}", json.dumps("certainly not valid"))
        submit(page)
        state = evaluate(
            page,
            f"""(() => {{
                const error = document.querySelector('#error-{last}');
                const box = error.getBoundingClientRect();
                return {{hash: location.hash, anchor: !!document.getElementById('result'),
                         top: box.top, bottom: box.bottom, height: window.innerHeight,
                         scrolled: window.scrollY}};
            }})()""",
        )
    assert state["hash"] == "#result" and state["anchor"], state
    assert state["scrolled"] > 0, state
    assert state["top"] >= 0 and state["bottom"] <= state["height"], state


def test_math_variants_are_the_unicode_letters() -> None:
    """Each mapped letter is the one the Unicode database names for that style (an
    independent reference for the tables): e.g. MATHEMATICAL BOLD ITALIC SMALL X."""
    import unicodedata

    from server.web.html import _MATH_VARIANTS

    words = {
        "bold": ("BOLD",),
        "italic": ("ITALIC",),
        "bold-italic": ("BOLD ITALIC", "BOLD DIGIT"),
        "script": ("SCRIPT",),
        "bold-script": ("BOLD SCRIPT",),
    }
    for variant, table in _MATH_VARIANTS.items():
        assert len(table) >= 52, variant
        for source, target in table.items():
            plain = unicodedata.name(chr(source))
            name = unicodedata.name(target)
            if name == "PLANCK CONSTANT":  # italic h, encoded before the block
                continue
            assert any(w in name for w in words[variant]), (variant, plain, name)
            # the same letter: "… SMALL X" for "LATIN SMALL LETTER X", "… PSI" for PSI
            tail = plain.split()[-1]
            assert name.split()[-1] == tail or "SYMBOL" in plain or "PARTIAL" in name, (
                variant,
                plain,
                name,
            )


def _ink(png: bytes) -> float:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        grey = image.convert("L")
        histogram = grey.histogram()
        dark = sum((255 - value) * n for value, n in enumerate(histogram))
        return dark / (grey.width * grey.height * 255)


@pytest.mark.slow
def test_bold_math_is_bold_in_chromium(server: Server, tmp_path: Path) -> None:
    """Defect 4: ``\\boldsymbol{x}`` in the VAE note is drawn bold. Chromium ignored the MathML
    ``mathvariant="bold-italic"``, so vectors looked like scalars: the bold letter must carry
    clearly more ink than the same letter plain, side by side in the same formula."""
    with chromium_page(chromium(), tmp_path / "profile") as page:
        page.goto(f"{server.url}/posts/ai/discreteVAE")
        found = evaluate(
            page,
            r"""(() => {
                const code = mi => mi.textContent.codePointAt(0);
                const bold = [...document.querySelectorAll('mi')].filter(mi =>
                    (code(mi) >= 0x1D468 && code(mi) <= 0x1D49B)  // bold italic Latin
                    || (code(mi) >= 0x1D71C && code(mi) <= 0x1D755));  // and Greek
                const probe = bold.find(mi => mi.textContent === '\u{1D499}');  // x
                if (!probe) return 0;
                const math = probe.closest('math');
                math.style.fontSize = '96px';
                probe.id = 'bold-probe';
                const plain = document.createElementNS(probe.namespaceURI, 'mi');
                plain.textContent = 'x';
                plain.id = 'plain-probe';
                probe.after(plain);
                return bold.length;
            })()""",
        )
        assert found == 25, found  # every \boldsymbol of the note
        bold = page.screenshot("#bold-probe")
        plain = page.screenshot("#plain-probe")
    (tmp_path / "bold.png").write_bytes(bold)
    (tmp_path / "plain.png").write_bytes(plain)
    assert bold != plain
    assert _ink(bold) > 1.2 * _ink(plain), (_ink(bold), _ink(plain))
