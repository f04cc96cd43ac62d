"""Shared pieces of the access tests: the probe viewers, the demo's identifiers, leak scanners.

Everything is generic over ui.loaders.QUERIES and ui.registry.PAGES so that functions and pages
added later are covered without editing the tests.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from data.access import MIN_GROUP_SIZE, Viewer

OWN_UNIT = "TZ-JY"
FOREIGN_UNIT = "TZ-HL"
VIEWERS = {
    "admin": Viewer("probe_admin", "admin", display_name="测试管理员"),
    "org": Viewer("probe_org", "org", display_name="测试组织部"),
    "unit_head": Viewer("probe_head", "unit_head", (OWN_UNIT,), "测试负责人"),
    "researcher": Viewer("probe_res", "researcher", display_name="测试研究", study_salt="probe"),
}
INJECTIONS = (
    "' OR 1=1 --",
    "'; DROP TABLE units; --",
    "\u2019 OR \u20181\u2019=\u20181",  # unicode quotes
    '" OR ""="',
    "TZ-JY' OR unit_code <> '",
)
REFUSALS = (ValueError, LookupError)  # AccessDenied is checked separately
# Columns that hold the number of people (or cases) behind a row of an aggregate.
COUNT_NAME = re.compile(
    r"^(n|n_[a-z_]+|[a-z_]+_n|count|[a-z_]+_count|cadres|members|people|received|closed|open|"
    r"led|co_handled|raters|respondents)$"
)
CODE_TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)?(?![A-Za-z0-9])")
NAME_TOKEN = re.compile(r"[\u4e00-\u9fff]{1,2}某\d{3}")


@dataclass
class Demo:
    """Identifiers of the demo city, split into the unit head's own unit and all others."""

    period: str
    prev_period: str
    year: int
    own_region: str
    foreign_region: str
    own_cadre: str
    foreign_cadre: str
    unit_codes: set[str] = field(default_factory=set)
    foreign_unit_codes: set[str] = field(default_factory=set)
    foreign_unit_names: set[str] = field(default_factory=set)
    cadre_codes: set[str] = field(default_factory=set)
    foreign_cadre_codes: set[str] = field(default_factory=set)
    own_names: set[str] = field(default_factory=set)
    foreign_names: set[str] = field(default_factory=set)


def demo_identifiers(con: duckdb.DuckDBPyConnection) -> Demo:
    """Return the demo's identifiers, as the tests need them."""
    units = con.execute("SELECT unit_code, unit_name, region FROM units").df()
    cadres = con.execute("SELECT cadre_code, name, unit_code FROM cadres").df()
    periods = [r[0] for r in con.execute(
        "SELECT DISTINCT period FROM quarterly_grades ORDER BY 1 DESC").fetchall()]  # fmt: skip
    tiered = con.execute("SELECT max(period) FROM tier_runs").fetchone()[0]
    period = tiered or periods[0]
    own = cadres[cadres.unit_code == OWN_UNIT]
    foreign = cadres[cadres.unit_code != OWN_UNIT]
    other_units = units[units.unit_code != OWN_UNIT]
    own_names = set(own.name)
    return Demo(
        period=period,
        prev_period=periods[periods.index(period) + 1] if period in periods[:-1] else period,
        year=int(period[:4]),
        own_region=units.set_index("unit_code").loc[OWN_UNIT, "region"],
        foreign_region=units.set_index("unit_code").loc[FOREIGN_UNIT, "region"],
        own_cadre=own.cadre_code.iloc[0],
        foreign_cadre=foreign[foreign.unit_code == FOREIGN_UNIT].cadre_code.iloc[0],
        unit_codes=set(units.unit_code),
        foreign_unit_codes=set(other_units.unit_code),
        foreign_unit_names=set(other_units.unit_name),
        cadre_codes=set(cadres.cadre_code),
        foreign_cadre_codes=set(foreign.cadre_code),
        own_names=own_names,
        foreign_names=set(foreign.name) - own_names,
    )


# --------------------------------------------------------------------------------------------
# Calling any registered query function with synthesized arguments


def _params(fn: Any) -> list[inspect.Parameter]:
    return list(inspect.signature(fn).parameters.values())[2:]


def _breakdowns(fn: Any) -> list[str]:
    keys: list[str] = []
    for name, value in getattr(fn, "__globals__", {}).items():
        if "BREAKDOWN" in name and isinstance(value, dict):
            keys.extend(value)
    return keys or ["category"]


def choices(fn: Any, demo: Demo, viewer: Viewer) -> dict[str, list[Any]] | None:
    """Return candidate values per parameter (first = the normal call); None if unknown."""
    from data.cohorts import CohortSpec

    out: dict[str, list[Any]] = {}
    for p in _params(fn):
        name, ann = p.name, str(p.annotation)
        if "CohortSpec" in ann:
            out[name] = [CohortSpec(), CohortSpec(regions=(demo.foreign_region,))]
        elif name in ("period", "period_to"):
            out[name] = [demo.period]
        elif name == "period_from":
            out[name] = [demo.prev_period]
        elif name == "year":
            out[name] = [demo.year]
        elif name == "since" and "int" in ann:
            out[name] = [2019]
        elif name == "region":
            out[name] = [None, demo.own_region, demo.foreign_region]
        elif name in ("unit_code", "unit", "code"):
            own = OWN_UNIT if viewer.sees_names else viewer.pseudonym(OWN_UNIT)
            out[name] = [own, FOREIGN_UNIT]
        elif name == "cadre_code":
            out[name] = [demo.own_cadre, demo.foreign_cadre]
        elif name == "by":
            out[name] = _breakdowns(fn)
        elif p.default is not inspect.Parameter.empty:
            continue
        else:
            return None
    return out


def calls(fn: Any, demo: Demo, viewer: Viewer) -> Iterator[dict[str, Any]]:
    """Yield keyword arguments: the normal call, then each parameter varied on its own."""
    options = choices(fn, demo, viewer)
    if options is None:
        return
    base = {k: v[0] for k, v in options.items()}
    yield base
    for key, values in options.items():
        for value in values[1:]:
            yield {**base, key: value}


def text_params(fn: Any) -> list[str]:
    """Return the parameters that take text (where an injection string can go)."""
    names = []
    for p in _params(fn):
        ann = str(p.annotation)
        if (
            "CohortSpec" in ann
            or ("str" in ann and "int" not in ann and "bool" not in ann)
            or p.name in ("region", "unit_code", "cadre_code", "period", "by")
        ):
            names.append(p.name)
    return names


def inject(fn: Any, demo: Demo, viewer: Viewer, name: str, text: str) -> dict[str, Any]:
    """Return the normal call's arguments with `text` in parameter `name`."""
    from data.cohorts import CohortSpec

    base = {k: v[0] for k, v in (choices(fn, demo, viewer) or {}).items()}
    ann = next(str(p.annotation) for p in _params(fn) if p.name == name)
    if "CohortSpec" in ann:
        spec = CohortSpec(regions=(text,), ranks=(text,))
        cohorts = [p.name for p in _params(fn) if "CohortSpec" in str(p.annotation)]
        return {**base, **dict.fromkeys(cohorts, spec)}
    return {**base, name: text}


# --------------------------------------------------------------------------------------------
# Walking results


def strings(value: Any) -> Iterator[str]:
    """Yield every string inside a result (frames, dicts, lists, dataclasses)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, pd.DataFrame):
        for col in value.columns:
            if value[col].dtype == object or pd.api.types.is_string_dtype(value[col]):
                for item in value[col].dropna():
                    yield from strings(item)
    elif isinstance(value, pd.Series):
        yield from strings(value.to_frame())
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from strings(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from strings(getattr(value, f.name))


def frames(value: Any, path: str = "") -> Iterator[tuple[str, pd.DataFrame]]:
    """Yield every DataFrame inside a result with where it was found."""
    if isinstance(value, pd.DataFrame):
        yield path or "result", value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from frames(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from frames(item, f"{path}[{i}]")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from frames(getattr(value, f.name), f"{path}.{f.name}")


def foreign_leaks(value: Any, demo: Demo) -> set[str]:
    """Return identifiers of other units (codes, unit names, cadre codes and names) found."""
    found: set[str] = set()
    for text in strings(value):
        if text in demo.foreign_unit_codes or text in demo.foreign_unit_names:
            found.add(text)
        for token in CODE_TOKEN.findall(text):
            if token in demo.foreign_unit_codes or token in demo.foreign_cadre_codes:
                found.add(token)
        for name in NAME_TOKEN.findall(text):
            if name in demo.foreign_names:
                found.add(name)
        for unit_name in demo.foreign_unit_names:
            # Inside a sentence; "泰州市委组织部《…》" is a cited source, not a unit's data.
            if len(unit_name) >= 4 and re.search(f"(?<!泰州){re.escape(unit_name)}", text):
                found.add(unit_name)
    return found


def identity_leaks(value: Any, demo: Demo) -> set[str]:
    """Return names, cadre codes and real unit codes found (none may reach a researcher)."""
    found: set[str] = set()
    for text in strings(value):
        if "某" in text and NAME_TOKEN.search(text):
            found.update(NAME_TOKEN.findall(text))
        for token in CODE_TOKEN.findall(text):
            if token in demo.cadre_codes or token in demo.unit_codes:
                found.add(token)
    return found


def small_groups(value: Any) -> list[str]:
    """Return descriptions of count cells between 1 and MIN_GROUP_SIZE - 1 in a result."""
    problems = []
    for where, frame in frames(value):
        for col in frame.columns:
            if not isinstance(col, str) or not COUNT_NAME.match(col):
                continue
            numbers = pd.to_numeric(frame[col], errors="coerce")
            bad = numbers[(numbers > 0) & (numbers < MIN_GROUP_SIZE)]
            if not bad.empty:
                problems.append(f"{where}.{col}: {sorted(set(bad.tolist()))[:5]}")
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and COUNT_NAME.match(key) and isinstance(item, int | float):
                if 0 < item < MIN_GROUP_SIZE:
                    problems.append(f"{key}: {item}")
    return problems


def emptyish(value: Any, echo: str = "") -> bool:
    """Return whether a result holds no rows (frames empty, lists empty, counts zero).

    Text that is empty or merely echoes the argument (`echo`) counts as empty.
    """
    if value is None:
        return True
    if isinstance(value, str):
        return value in ("", echo)
    if isinstance(value, pd.DataFrame) and "n" in value.columns and not value.empty:
        return bool((pd.to_numeric(value["n"], errors="coerce").fillna(0) == 0).all())
    if isinstance(value, pd.DataFrame):
        return value.empty
    if isinstance(value, list | tuple | set):
        return len(value) == 0
    if isinstance(value, dict):
        return all(
            emptyish(v, echo) if not isinstance(v, int | float) else not v for v in value.values()
        )
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return all(emptyish(getattr(value, f.name)) for f in dataclasses.fields(value)
                   if isinstance(getattr(value, f.name), pd.DataFrame))  # fmt: skip
    return False
