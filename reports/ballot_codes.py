"""The printed 民主测评 code sheet: one card per code with its QR code, per unit and rater group."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from itertools import groupby

import segno
from fpdf import FPDF

from data.ballots import IssuedCode, format_code
from reports.fonts import cjk_font_path

FAMILY = "cjk"
# Where raters' phones reach the dashboard; the QR code opens {BASE}/toupiao?code=…
BALLOT_URL_ENV = "BANZI_BALLOT_URL"
DEFAULT_BALLOT_URL = "http://127.0.0.1:8501"
CARDS_PER_ROW, ROWS_PER_PAGE = 3, 4
CARD_W, CARD_H = 60.0, 64.0


def ballot_url(code: str, base: str | None = None) -> str:
    """Return the address a code's QR opens."""
    root = (base or os.environ.get(BALLOT_URL_ENV) or DEFAULT_BALLOT_URL).rstrip("/")
    return f"{root}/toupiao?code={code}"


def _qr_png(url: str) -> io.BytesIO:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=6, border=2)
    out.seek(0)
    return out


def codes_pdf(codes: Sequence[IssuedCode], wave_name: str, base: str | None = None) -> bytes:
    """Return an A4 PDF: for each unit and rater group, cards with a QR code and the typed code."""
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.add_font(FAMILY, "", str(cjk_font_path()))
    pdf.set_title(f"{wave_name} 测评码")
    pdf.set_creator("banzi")
    key = lambda c: (c.unit_code, c.rater_group)  # noqa: E731
    for (unit_code, group), cards in groupby(sorted(codes, key=key), key=key):
        cards = list(cards)
        for start in range(0, len(cards), CARDS_PER_ROW * ROWS_PER_PAGE):
            pdf.add_page()
            pdf.set_font(FAMILY, size=13)
            pdf.cell(0, 8, f"{wave_name} · {cards[0].unit_name}（{unit_code}）· {group}", align="C",
                     new_x="LMARGIN", new_y="NEXT")  # fmt: skip
            pdf.set_font(FAMILY, size=9)
            pdf.cell(0, 6, "沿虚线剪开，每人一张；扫码或在测评页面输入测评码。测评码只能使用一次，"
                     "与本人身份无关。", align="C", new_x="LMARGIN", new_y="NEXT")  # fmt: skip
            for i, card in enumerate(cards[start : start + CARDS_PER_ROW * ROWS_PER_PAGE]):
                x = 15 + (i % CARDS_PER_ROW) * CARD_W
                y = 30 + (i // CARDS_PER_ROW) * CARD_H
                pdf.set_draw_color(160, 160, 160)
                pdf.set_dash_pattern(dash=1, gap=1)
                pdf.rect(x, y, CARD_W, CARD_H)
                pdf.set_dash_pattern()
                pdf.image(_qr_png(ballot_url(card.code, base)), x=x + 12, y=y + 3, w=36, h=36)
                pdf.set_xy(x, y + 41)
                pdf.set_font(FAMILY, size=10)
                pdf.cell(CARD_W, 6, format_code(card.code), align="C", new_x="LEFT", new_y="NEXT")
                pdf.set_font(FAMILY, size=8)
                pdf.cell(CARD_W, 5, f"测评人类别：{group}", align="C", new_x="LEFT", new_y="NEXT")
                pdf.cell(CARD_W, 5, "民主测评 · 匿名", align="C", new_x="LEFT", new_y="NEXT")
                pdf.set_font(FAMILY, size=6)
                pdf.cell(CARD_W, 4, ballot_url("", base).replace("?code=", ""), align="C")
    return bytes(pdf.output())


def _cell(text: str) -> str:
    """Return text safe for a spreadsheet (a leading formula character is escaped)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def codes_csv(codes: Sequence[IssuedCode], base: str | None = None) -> bytes:
    """Return the codes as a UTF-8 (BOM) CSV for distribution: unit, group, code, address."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["单位编码", "单位名称", "测评人类别", "测评码", "测评地址"])
    for c in codes:
        writer.writerow([_cell(c.unit_code), _cell(c.unit_name), c.rater_group,
                         format_code(c.code), ballot_url(c.code, base)])  # fmt: skip
    return out.getvalue().encode("utf-8-sig")
