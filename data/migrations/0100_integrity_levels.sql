-- Version 100 (issue 21): two levels of integrity signal and case findings on persons.
-- level: '标记' (Benjamini–Hochberg q ≤ 0.05 per signal, what `flagged` has always meant),
-- '提示' (weaker evidence, q ≤ 0.2), '' otherwise. The briefing's first page uses only 标记.
-- integrity_cases: severe contradictions in one cadre's own record, listed whatever the unit's
-- statistics (kind: 'down' 好/较好 quarters then 基本称职/不称职; 'up' 优秀 in a year with a
-- 较差 quarter; 'passed_over' the unit's best performer passed over for 优秀 three years
-- running). Evidence holds cadre tokens ([[C:code]]); researchers never read this table.

ALTER TABLE integrity_results ADD COLUMN level VARCHAR DEFAULT '';

CREATE TABLE integrity_cases (
    period VARCHAR NOT NULL,
    ord INTEGER NOT NULL,
    unit_code VARCHAR NOT NULL,
    cadre_code VARCHAR NOT NULL,
    kind VARCHAR NOT NULL CHECK (kind IN ('down', 'up', 'passed_over')),
    kind_label VARCHAR NOT NULL,
    year INTEGER NOT NULL,
    evidence VARCHAR NOT NULL,
    PRIMARY KEY (period, ord)
);
