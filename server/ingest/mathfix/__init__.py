r"""Find the math of an HTML body in its text stream and repair what a Markdown renderer broke.

The blog writes LaTeX as ``$…$`` / ``$$…$$`` in Markdown, and its renderer (markdown-it without a
math plugin) treated the TeX as Markdown before the HTML reached the feed. :func:`protect_math`
(:mod:`.protect`) runs on the raw HTML *before* it is parsed into a tree, because the damage
crosses elements (an ``<em>`` opened in one formula closes in the next). It tokenises the HTML
(:mod:`.tokens`), joins the text of each block (paragraph, list item, cell…) into one run, finds
the math segments of each run (:mod:`.segments`, which documents the delimiters), repairs them,
and replaces each by ``<nk-math data-i="k"></nk-math>`` whose TeX is ``Protected.formulas[k]``
(:mod:`.records`). The Markdown writer emits that TeX verbatim (never escaped). On the way out
the HTML gets the end tags that HTML lets authors omit (:mod:`.html_out`), so the tree nests as a
browser shows it. Other engines' markup (``<script type="math/tex">``, KaTeX/MathML annotations)
is exact TeX that no Markdown renderer touched: the Markdown writer takes it verbatim.

Repairs, in order, one module each; deterministic ones first, the others are judgement calls
counted by kind:

1. :mod:`.emphasis`: ``<em>``/``<strong>`` pairs back into ``_``/``*`` (deterministic).
2. code spans inside a formula give their text back (:mod:`.protect`).
3. :mod:`.split_display`: a display formula split into a list by a ``+`` line.
4. :mod:`.stray_dollars`: ``$`` left inside ``\(…\)`` by Pelican's WordPress import.
5. :mod:`.rows`: ``\\`` row breaks that lost a backslash at a line end (deterministic).
6. :mod:`.matrix_rows`: row breaks eaten inside matrices, where the rows agree.
7. :mod:`.norms`: ``\|`` norm bars.
8. :mod:`.spacing`: ``\,`` ``\!`` ``\;``.
9. :mod:`.braces`: ``\{ \}`` set braces.
10. lost subscripts (:mod:`.repair`, which runs 5–10 on one formula).

Not every pair of dollars is math: each candidate is judged first (:mod:`.dollars`): code,
prose and LaTeX source stay text, and a span with nothing TeX about it is math only where the
item or its feed has math (``protect_math(feed_math=…)``, :func:`math_evidence`); the spans kept
as text are counted by reason (``Protected.text_spans``). :mod:`.katex_names` lists the control
words KaTeX knows; :mod:`.macros` reads a site's ``\newcommand`` macros, names the commands
KaTeX lacks and expands macros for renderers without them.

Display environments written bare in the prose (``\begin{equation}``, ``align``…) are found as
segments too; :mod:`.environments` rewrites the forms KaTeX lacks and drops ``\label``. What
the context cannot decide (an environment that does not close in its block, matrix rows that do
not agree) is left as written and counted in ``Protected.ambiguous``.

Every repair only adds characters (backslashes, ``_``, ``*``, ``\text``) or turns tags back into
the characters they replaced, so every symbol of the damaged formula survives; no ``\_`` or ``\*``
is ever added (the KaTeX rewrites of :mod:`.environments` are the exception, and counted).
Judgement repairs run on formulas up to :data:`MAX_REPAIR_CHARS` characters.
"""

from __future__ import annotations

from server.ingest.mathfix.protect import math_evidence, protect_math
from server.ingest.mathfix.records import PLACEHOLDER_TAG, Formula, Protected
from server.ingest.mathfix.repair import MAX_REPAIR_CHARS, repair_tex
from server.ingest.mathfix.segments import MAX_INLINE_CHARS

__all__ = [
    "MAX_INLINE_CHARS",
    "MAX_REPAIR_CHARS",
    "PLACEHOLDER_TAG",
    "Formula",
    "Protected",
    "math_evidence",
    "protect_math",
    "repair_tex",
]
