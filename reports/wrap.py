"""Chinese line breaking for the PDF: kinsoku rules and unbreakable runs, fed to fpdf2.

fpdf2 wraps character by character with no CJK rules, so a line can start with 「，」 and a
number or date can split across lines. ``wrap_lines`` breaks text itself, measuring with the
PDF's own font metrics, and hands fpdf2 lines that already fit:

- no line starts with closing punctuation (。，、；：？！）」》 …) and none ends with an
  opening one (（「《 …): the last word is pushed down with it (追い出し);
- runs of Latin letters, digits and . % - + : / (numbers, percentages, codes such as
  TZ-D017) and dates such as 2023年10月12日 or 2023年第四季度 are never split, unless one
  alone is wider than a whole line.
"""

from __future__ import annotations

import re
from collections.abc import Callable

NO_START = frozenset("。，、；：？！）」》』】〕〉’”,.;:?!)]}%…·～—－")
NO_END = frozenset("（「《『【〔〈‘“([{")
_TOKEN = re.compile(
    r"\d{4}年(?:第[一二三四]季度|\d{1,2}月(?:\d{1,2}日)?)?"  # dates
    r"|\d{1,2}月\d{1,2}日"
    r"|[A-Za-z0-9][A-Za-z0-9.%+\-/:～~]*[A-Za-z0-9%]"  # numbers, codes
    r"|[+\-−]?[0-9]+(?:\.[0-9]+)?%?(?: ?[个人件条次分名项天岁期])?"
    r"|\s+|.",
    re.S,
)


def tokens(text: str) -> list[str]:
    """Return text split into the pieces a line may break between."""
    return _TOKEN.findall(text)


def wrap_lines(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Return text broken into lines no wider than width (see module doc); '\n' breaks too.

    ``measure`` gives a string's width. Widths are taken as additive (true of fpdf2, which
    applies no kerning by default), so each distinct piece is measured once.
    """
    cache: dict[str, float] = {}

    def piece_width(piece: str) -> float:
        if piece not in cache:
            cache[piece] = measure(piece)
        return cache[piece]

    out: list[str] = []
    for paragraph in text.split("\n"):
        out.extend(_wrap(paragraph, width, piece_width))
    return out


def _split_long(token: str, width: float, w: Callable[[str], float]) -> list[str]:
    pieces, current, used = [], "", 0.0
    for ch in token:
        if current and used + w(ch) > width:
            pieces.append(current)
            current, used = "", 0.0
        current += ch
        used += w(ch)
    return [*pieces, current] if current else pieces


def _wrap(text: str, width: float, w: Callable[[str], float]) -> list[str]:
    if not text:
        return [""]
    lines: list[list[str]] = [[]]
    used = 0.0
    for token in tokens(text):
        line = lines[-1]
        tw = w(token)
        if not line or used + tw <= width:
            if not line and token.isspace() and len(lines) > 1:
                continue  # no leading blank on a continuation line
            if not line and tw > width:
                parts = _split_long(token, width, w)
                line.append(parts[0])
                lines.extend([p] for p in parts[1:])
                used = w(lines[-1][0]) if len(parts) > 1 else w(parts[0])
                continue
            line.append(token)
            used += tw
            continue
        if token.isspace():  # a break at a space: the space goes
            lines.append([])
            used = 0.0
            continue
        carry: list[str] = []
        if token[0] in NO_START:
            # Push the last piece down with the closing punctuation (keep at least one).
            while len(line) > 1 and (not carry or carry[0][0] in NO_START):
                carry.insert(0, line.pop())
        while len(line) > 1 and line[-1] and line[-1][-1] in NO_END:
            carry.insert(0, line.pop())
        while line and line[-1].isspace():
            line.pop()
        new = [*carry, token]
        if sum(w(p) for p in new) > width and len(new) > 1:
            # Rare: the carried piece and the token do not fit together; put the carry back.
            line.extend(carry)
            new = [token]
        lines.append(new)
        used = sum(w(p) for p in new)
    return ["".join(line).rstrip() for line in lines]
