-- Rater groups and dimensions as data (issue 19). The rows mirror data/vocab.py
-- (tests/test_vocab.py compares them); the features read `rater_groups.side` to know which
-- groups are the team rating itself ('self') and which are others rating it ('other').
-- A new rater group is one INSERT here (in a new migration) and one line in data/vocab.py.

CREATE TABLE rater_groups (
    code VARCHAR PRIMARY KEY,
    label VARCHAR NOT NULL UNIQUE,  -- the value stored in ratings.rater_group
    ord INTEGER NOT NULL UNIQUE,
    side VARCHAR NOT NULL DEFAULT '' CHECK (side IN ('', 'self', 'other'))
);

INSERT INTO rater_groups VALUES
    ('team_member', '班子成员', 1, 'self'),
    ('middle_cadre', '中层干部', 2, ''),
    ('staff', '一般干部', 3, 'other'),
    ('served', '服务对象', 4, 'other');

CREATE TABLE dimensions (
    target VARCHAR NOT NULL CHECK (target IN ('team', 'member')),
    label VARCHAR NOT NULL,
    ord INTEGER NOT NULL,
    PRIMARY KEY (target, label)
);

INSERT INTO dimensions VALUES
    ('team', '政治建设', 1), ('team', '民主集中制', 2), ('team', '团结协作', 3),
    ('team', '担当作为', 4), ('team', '工作实绩', 5), ('team', '作风建设', 6),
    ('team', '廉洁自律', 7),
    ('member', '德', 1), ('member', '能', 2), ('member', '勤', 3), ('member', '绩', 4),
    ('member', '廉', 5);

-- DuckDB cannot drop a CHECK, and the one on ratings.rater_group (0001) would refuse a fifth
-- group. Rebuild ratings once, without it: the importer still accepts only the groups of
-- data/vocab.py (the contract's enum), and the table rater_groups is the list the SQL reads.
-- Ratings carry no index or key (0001), so the copy is the whole of the rebuild.
CREATE TABLE ratings_rebuilt (
    wave VARCHAR NOT NULL,
    unit_code VARCHAR NOT NULL,
    rater_code VARCHAR NOT NULL,
    rater_group VARCHAR,
    target VARCHAR NOT NULL,  -- '班子' for the team, else a cadre_code
    dimension VARCHAR NOT NULL,
    grade TINYINT NOT NULL CHECK (grade BETWEEN 1 AND 4),
    period VARCHAR CHECK (period IS NULL OR regexp_full_match(period, '\d{4}Q[1-4]')),
    batch_id INTEGER,
    extra JSON
);
INSERT INTO ratings_rebuilt SELECT * FROM ratings;
DROP TABLE ratings;
ALTER TABLE ratings_rebuilt RENAME TO ratings;
