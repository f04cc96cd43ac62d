"""Briefing settings: the masthead (organ, 期号, 密级 mark, 报/送/发) and the Word fonts.

Nothing here names a city. Values come, strongest first, from explicit overrides (CLI options),
environment variables (``BANZI_ISSUER``, ``BANZI_ISSUE_NO``, ``BANZI_SECRECY`` …), a TOML file
named by ``$BANZI_BRIEFING_TOML``, the demo's own file (``reports/demo_briefing.toml``, used
only when the database is the synthetic demo) and the neutral defaults below.

TOML keys are the field names of :class:`BriefingSettings`, e.g.::

    issuer = "中共泰州市委组织部"
    secrecy = "内部资料 注意保存"
    report_to = "市委常委"
    send_to = "市纪委监委、市委办公室"
    distribute_to = "各市（区）委组织部，市直各部门党组（党委）"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path

DEFAULT_ISSUER = "组织部"
DEFAULT_SECRECY = "内部资料 注意保存"
DEMO_SETTINGS = Path(__file__).with_name("demo_briefing.toml")
TOML_ENV = "BANZI_BRIEFING_TOML"
# Word cannot carry a font along, so the .docx names the fonts of GB/T 9704 practice that every
# Chinese Windows / WPS has: 仿宋_GB2312 body, 黑体 level-1 and 楷体_GB2312 level-2 headings,
# 方正小标宋简体 for the title (Word falls back to 宋体 where that one is missing).
DEFAULT_BODY_FONT = "仿宋_GB2312"
DEFAULT_HEADING_FONT = "黑体"
DEFAULT_KAI_FONT = "楷体_GB2312"
DEFAULT_TITLE_FONT = "方正小标宋简体"
_ENV = {
    "issuer": "BANZI_ISSUER",
    "issue_no": "BANZI_ISSUE_NO",
    "secrecy": "BANZI_SECRECY",
    "report_to": "BANZI_REPORT_TO",
    "send_to": "BANZI_SEND_TO",
    "distribute_to": "BANZI_DISTRIBUTE_TO",
    "body_font": "BANZI_DOCX_FONT",
    "heading_font": "BANZI_DOCX_HEADING_FONT",
}


class SettingsError(ValueError):
    """A briefing settings file cannot be read; the message is Chinese, for the user."""


@dataclass(frozen=True)
class BriefingSettings:
    """Masthead and fonts of a briefing (issue_no '' : derived from the period; date None: today)."""

    issuer: str = DEFAULT_ISSUER
    issue_no: str = ""
    secrecy: str = DEFAULT_SECRECY
    report_to: str = ""
    send_to: str = ""
    distribute_to: str = ""
    body_font: str = DEFAULT_BODY_FONT
    heading_font: str = DEFAULT_HEADING_FONT
    kai_font: str = DEFAULT_KAI_FONT
    title_font: str = DEFAULT_TITLE_FONT
    issued_on: date | None = None

    @classmethod
    def from_env(cls, demo: bool = False, **overrides: object) -> BriefingSettings:
        """Return settings from overrides, environment, $BANZI_BRIEFING_TOML, the demo file."""
        base = cls()
        if demo and DEMO_SETTINGS.is_file():
            base = replace(base, **read_toml(DEMO_SETTINGS))
        if path := os.environ.get(TOML_ENV):
            base = replace(base, **read_toml(Path(path)))
        env = {k: os.environ[v] for k, v in _ENV.items() if os.environ.get(v)}
        base = replace(base, **env)
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})

    def date(self) -> date:
        """Return the issue date (today unless fixed)."""
        return self.issued_on or date.today()

    def issue_text(self, period: str) -> str:
        """Return the 期号 line, e.g. '2023年第4期' (from the period unless set)."""
        if self.issue_no:
            return self.issue_no
        return f"{period[:4]}年第{period[-1]}期"


def read_toml(path: Path) -> dict[str, object]:
    """Return the known keys of a settings TOML file (Chinese error when unreadable)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"简报设置文件无法读取：{path}（{exc}）") from exc
    known = {f.name for f in fields(BriefingSettings)} - {"issued_on"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SettingsError(f"简报设置文件 {path} 含未知的项：{'、'.join(unknown)}")
    return {k: str(v) for k, v in data.items()}
