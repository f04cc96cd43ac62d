"""The CJK font every export uses, by file path: Noto Sans CJK SC from the pinned mplfonts.

Why a file path: charts, PDF and the README picture must show Chinese the same way on every
machine, whether or not the system has a Chinese font, and nothing is downloaded at run time.
mplfonts (pinned in requirements.txt) ships ``NotoSansCJKsc-Regular.otf`` under the SIL Open
Font License. It also ships a SimHei of doubtful licence, which banzi never loads.

Word files cannot carry the font along (python-docx does not embed fonts); they name East Asian
fonts that every Chinese Windows/WPS has instead (see ``reports.docx``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

# The family name inside the OTF; matplotlib and fpdf2 refer to it by this name.
CJK_FAMILY = "Noto Sans CJK SC"
_FONT_FILE = "NotoSansCJKsc-Regular.otf"
# An operator may point banzi at another licensed CJK font (e.g. a TrueType 仿宋) by path.
FONT_ENV = "BANZI_CJK_FONT"


class FontMissingError(RuntimeError):
    """The CJK font file was not found; the message is Chinese, for the user."""


@lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    """Return the path of the CJK font file ($BANZI_CJK_FONT, else mplfonts' Noto Sans CJK SC)."""
    override = os.environ.get(FONT_ENV)
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise FontMissingError(f"环境变量 {FONT_ENV} 指向的字体文件不存在：{path}")
        return path
    try:
        import mplfonts
    except ImportError as exc:  # pragma: no cover - mplfonts is a pinned requirement
        raise FontMissingError(
            "缺少中文字体包 mplfonts，请运行 `make run` 或安装 requirements.txt 中的依赖。"
        ) from exc
    path = Path(mplfonts.__file__).resolve().parent / "fonts" / _FONT_FILE
    if not path.is_file():  # pragma: no cover - the wheel always ships it
        raise FontMissingError(f"mplfonts 中缺少字体文件 {_FONT_FILE}，请重新安装 mplfonts。")
    return path


@lru_cache(maxsize=1)
def matplotlib_family() -> str:
    """Return the family name of the CJK font after registering it with matplotlib by path."""
    from matplotlib import font_manager

    path = str(cjk_font_path())
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


_SERIF_FILE = "NotoSerifCJKsc-Regular.otf"
SERIF_ENV = "BANZI_CJK_SERIF_FONT"


@lru_cache(maxsize=1)
def cjk_serif_path() -> Path:
    """Return the body-text font: $BANZI_CJK_SERIF_FONT (e.g. a licensed 仿宋), else Noto Serif CJK.

    Noto Serif CJK SC (SIL OFL, shipped in the pinned mplfonts) stands in for 仿宋 in the PDF:
    no open-licence 仿宋 or 楷体 is published as a pip-installable package. Headings use Noto
    Sans CJK SC in the place of 黑体.
    """
    override = os.environ.get(SERIF_ENV)
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise FontMissingError(f"环境变量 {SERIF_ENV} 指向的字体文件不存在：{path}")
        return path
    path = cjk_font_path().parent / _SERIF_FILE
    return path if path.is_file() else cjk_font_path()
