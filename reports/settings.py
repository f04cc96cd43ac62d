"""Briefing settings: who issues it and which East Asian fonts the Word file names.

Defaults suit 泰州; a site changes them through environment variables (or the CLI options),
so no code edit is needed to issue briefings under another organization department.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import date

DEFAULT_ISSUER = "中共泰州市委组织部"
# Word cannot carry a font along, so the .docx names fonts every Chinese Windows / WPS has:
# 宋体 for body text and 黑体 for headings (the common 公文 pairing for internal briefings).
DEFAULT_BODY_FONT = "宋体"
DEFAULT_HEADING_FONT = "黑体"


@dataclass(frozen=True)
class BriefingSettings:
    """Issuing body, date and Word fonts of a briefing (issued_on None: today)."""

    issuer: str = DEFAULT_ISSUER
    body_font: str = DEFAULT_BODY_FONT
    heading_font: str = DEFAULT_HEADING_FONT
    issued_on: date | None = None

    @classmethod
    def from_env(cls, **overrides: object) -> BriefingSettings:
        """Return settings from $BANZI_ISSUER, $BANZI_DOCX_FONT, $BANZI_DOCX_HEADING_FONT."""
        base = cls(
            issuer=os.environ.get("BANZI_ISSUER") or DEFAULT_ISSUER,
            body_font=os.environ.get("BANZI_DOCX_FONT") or DEFAULT_BODY_FONT,
            heading_font=os.environ.get("BANZI_DOCX_HEADING_FONT") or DEFAULT_HEADING_FONT,
        )
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})

    def date(self) -> date:
        """Return the issue date (today unless fixed)."""
        return self.issued_on or date.today()
