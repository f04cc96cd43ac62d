"""Briefings (简报): Word, PDF and Excel built from the same functions the pages use.

Entry points live in ``reports.brief`` (``build_briefing``, ``render_briefing``); they are not
re-exported here so that importing the package stays cheap (matplotlib and fpdf2 load lazily).
"""
