"""The page registry: dashboard.py builds navigation from it and tests run every entry."""

from __future__ import annotations

from dataclasses import dataclass

from data.vocab import CADRE_ROLES
from data.vocab import ROLES as ALL_ROLES
from data.vocab import STAFF_ROLES as STAFF


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
    PageSpec("pages/overview.py", "总览", ":material/dashboard:", ALL_ROLES, "分析", "zonglan"),
    PageSpec(
        "pages/tiers.py", "班子分层", ":material/stacked_bar_chart:", ALL_ROLES, "分析", "fenceng"
    ),
    PageSpec(
        "pages/team_profile.py", "班子画像", ":material/badge:", ALL_ROLES, "分析", "huaxiang"
    ),
    PageSpec(
        "pages/region_tiers.py", "地区分层变化", ":material/timeline:", ALL_ROLES, "分析", "diqu"
    ),
    PageSpec(
        "pages/integrity.py",
        "考核质量",
        ":material/fact_check:",
        ALL_ROLES,
        "分析",
        "kaohezhiliang",
    ),
    PageSpec(
        "pages/petitions.py", "诉求与澄清", ":material/support_agent:", ALL_ROLES, "工作台", "suqiu"
    ),
    PageSpec(
        "pages/suggestions.py", "调整建议", ":material/rule:", CADRE_ROLES, "工作台", "jianyi"
    ),
    PageSpec(
        "pages/cadre_card.py",
        "干部成绩单",
        ":material/id_card:",
        CADRE_ROLES,
        "工作台",
        "chengjidan",
    ),
    PageSpec(
        "pages/briefing.py", "简报导出", ":material/description:", ALL_ROLES, "工作台", "jianbao"
    ),
    PageSpec("pages/ballots.py", "测评批次", ":material/how_to_vote:", STAFF, "工作台", "ceping"),
    PageSpec("pages/data_import.py", "数据导入", ":material/upload_file:", STAFF, "管理", "import"),
    PageSpec(
        "pages/cohorts.py",
        "队列研究",
        ":material/query_stats:",
        ("admin", "org", "researcher"),
        "分析",
        "duilie",
    ),
    PageSpec("pages/audit.py", "审计日志", ":material/policy:", ("admin",), "管理", "shenji"),
    PageSpec(
        "pages/users.py", "用户管理", ":material/manage_accounts:", ("admin",), "管理", "yonghu"
    ),
]


def pages_for(role: str) -> list[PageSpec]:
    """Return the pages a role may open, in navigation order."""
    return [p for p in PAGES if role in p.roles]
