"""The page registry: dashboard.py builds navigation from it and tests run every entry."""

from __future__ import annotations

from dataclasses import dataclass

ALL_ROLES = ("admin", "org", "unit_head", "researcher")
STAFF = ("admin", "org")


@dataclass(frozen=True)
class PageSpec:
    """One page: file, Chinese title, material icon, roles that may open it, nav section.

    url_path must differ from the file's stem: Streamlit also auto-discovers pages/ and would
    otherwise serve a deep link as a bare page without the login and sidebar (pinyin is used).
    """

    path: str
    title: str
    icon: str
    roles: tuple[str, ...]
    section: str
    url_path: str


PAGES: list[PageSpec] = [
    PageSpec(
        "pages/petitions.py", "诉求与澄清", ":material/support_agent:", ALL_ROLES, "工作台", "suqiu"
    ),
]


def pages_for(role: str) -> list[PageSpec]:
    """Return the pages a role may open, in navigation order."""
    return [p for p in PAGES if role in p.roles]
