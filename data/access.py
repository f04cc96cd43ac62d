"""Who is asking: the viewer every query function takes first, and the scope it allows.

Scope is enforced here and in SQL, not by hiding widgets:
- admin (管理员) and org (组织部) see every unit and every name;
- unit_head (单位负责人) sees only the units listed on the account, names within them;
- researcher (研究人员) sees no names, no cadre codes and no free text, only aggregates over
  groups of at least ``MIN_GROUP_SIZE`` (k, with complementary suppression), pseudonymous unit
  codes, and unit attributes coarsened so every combination shown matches at least k teams
  (data.privacy).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from data.vocab import ROLES, STAFF_ROLES


def _int_setting(name: str, default: int, low: int) -> int:
    """Return an integer setting from the environment (ignored when malformed or too small)."""
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value >= low else default


# k: the smallest group of persons or teams a researcher may see anything about, and the
# smallest number of teams that may share any combination of attributes shown about a team.
# Engagement-survey practice is 5; a site raises it with BANZI_PRIVACY_K.
MIN_GROUP_SIZE = _int_setting("BANZI_PRIVACY_K", 5, 2)
# How long (days) a researcher's earlier cohorts count for the differencing guard.
COHORT_WINDOW_DAYS = _int_setting("BANZI_COHORT_WINDOW_DAYS", 365, 1)
# Free-text answers need a larger group before they are shown at all.
MIN_TEXT_GROUP_SIZE = 10


class AccessDenied(Exception):
    """The viewer may not see what was asked; the message is Chinese, for the user."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as the data layer sees them."""

    username: str
    role: str
    unit_codes: tuple[str, ...] = field(default_factory=tuple)
    display_name: str = ""
    study_salt: str = ""
    # A free-text note recorded beside the username in the audit log, never trusted: the
    # CLI's --user (who the operator says they act for). It grants nothing.
    label: str = ""
    # The units a report narrowed this viewer to (see narrowed_to); None: the role's own scope.
    narrowed: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")

    @property
    def sees_all_units(self) -> bool:
        """Return whether the viewer's scope is every unit (admin, org, researcher)."""
        return self.narrowed is None and self.role in ("admin", "org", "researcher")

    @property
    def scope_units(self) -> tuple[str, ...]:
        """Return the units of a limited scope (narrowed, else the role's own units)."""
        return self.unit_codes if self.narrowed is None else self.narrowed

    def narrowed_to(self, unit_codes: Iterable[str]) -> Viewer:
        """Return this viewer limited to those of unit_codes it may see; role and names kept."""
        wanted = dict.fromkeys(unit_codes)
        own = None if self.sees_all_units else set(self.scope_units)
        return replace(self, narrowed=tuple(c for c in wanted if own is None or c in own))

    @property
    def sees_names(self) -> bool:
        """Return whether names and cadre codes may reach this viewer."""
        return self.role != "researcher"

    @property
    def can_decide(self) -> bool:
        """Return whether the viewer may decide suggestions and override tiers."""
        return self.role in STAFF_ROLES

    @property
    def can_import(self) -> bool:
        """Return whether the viewer may import data (组织部 or 管理员)."""
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        """Return whether the viewer is an administrator."""
        return self.role == "admin"

    @property
    def signature(self) -> str:
        """Return the username with its label, as recorded on import batches."""
        return f"{self.username}（{self.label}）" if self.label else self.username

    def with_label(self, label: str | None) -> Viewer:
        """Return this viewer with a label (kept verbatim, cut to 200 characters)."""
        return replace(self, label=(label or "").strip()[:200])

    def scope_params(self) -> dict[str, Any]:
        """Return SQL parameters for the unit-scope predicate (see ``SCOPE_SQL``)."""
        return {"scope_all": self.sees_all_units, "scope_units": list(self.scope_units)}

    def require_names(self) -> None:
        """Raise AccessDenied unless the viewer may see names."""
        if not self.sees_names:
            raise AccessDenied("研究人员角色不能查看干部姓名或个人明细。")

    def require_decider(self) -> None:
        """Raise AccessDenied unless the viewer may decide suggestions and overrides."""
        if not self.can_decide:
            raise AccessDenied("只有组织部或管理员可以作出决定。")

    def require_importer(self) -> None:
        """Raise AccessDenied unless the viewer may import data (组织部 or 管理员)."""
        if not self.can_import:
            raise AccessDenied("只有组织部或管理员可以导入数据。")

    def require_admin(self) -> None:
        """Raise AccessDenied unless the viewer is an administrator."""
        if not self.is_admin:
            raise AccessDenied("只有管理员可以执行此操作。")

    def require_unit(self, unit_code: str) -> None:
        """Raise AccessDenied unless the unit is within the viewer's scope."""
        if not self.sees_all_units and unit_code not in self.scope_units:
            raise AccessDenied("无权查看该单位的数据。")

    def pseudonym(self, code: str, prefix: str = "U") -> str:
        """Return a stable pseudonymous code for a researcher's study."""
        digest = hashlib.sha256(f"{self.study_salt}:{code}".encode()).hexdigest()[:8]
        return f"{prefix}-{digest.upper()}"


def scope_sql(column: str = "unit_code") -> str:
    """Return the SQL predicate restricting `column` to the viewer's units.

    Bind the parameters from :meth:`Viewer.scope_params`. `column` comes from code, never input.
    """
    if not column.replace(".", "").replace("_", "").isalnum():
        raise ValueError(f"bad column name {column!r}")
    return f"($scope_all OR list_contains($scope_units, {column}))"


# Accounts used when no login is configured (tests, CLI batch work).
SYSTEM_VIEWER = Viewer(username="system", role="admin", display_name="系统")
