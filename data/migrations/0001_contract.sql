-- Version 1: the data contract (../shared/docs/data-contract.md) and import provenance.
-- Grades are stored as scores: 好=4, 较好=3, 一般=2, 较差=1; 年度 优秀=4, 称职=3, 基本称职=2, 不称职=1.
-- Periods are quarters written 'YYYYQn'. Large fact tables (ratings) carry no index or key:
-- the importer enforces natural keys set-based, which keeps bulk loads fast.

CREATE TABLE meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
INSERT INTO meta VALUES ('data_version', '0');

CREATE SEQUENCE batch_seq START 1;
CREATE TABLE import_batches (
    batch_id INTEGER PRIMARY KEY DEFAULT nextval('batch_seq'),
    kind VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    imported_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    imported_by VARCHAR NOT NULL,
    row_count INTEGER NOT NULL CHECK (row_count >= 0),
    status VARCHAR NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'rolled_back')),
    report JSON
);

CREATE TABLE units (
    unit_code VARCHAR PRIMARY KEY,
    unit_name VARCHAR NOT NULL,
    unit_kind VARCHAR NOT NULL CHECK (unit_kind IN ('市直机关部门', '市（区）', '事业单位', '国有企业')),
    region VARCHAR,
    parent_code VARCHAR,
    batch_id INTEGER,
    extra JSON
);

CREATE TABLE cadres (
    cadre_code VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    unit_code VARCHAR NOT NULL,
    position VARCHAR NOT NULL,
    gender VARCHAR CHECK (gender IN ('男', '女')),
    birth_month DATE,
    rank VARCHAR,
    is_team_member BOOLEAN,
    in_post_since DATE,
    education VARCHAR,
    batch_id INTEGER,
    extra JSON
);

-- A cadre's posts over time; the current post has end_month NULL.
CREATE TABLE cadre_posts (
    cadre_code VARCHAR NOT NULL,
    unit_code VARCHAR NOT NULL,
    position VARCHAR NOT NULL,
    start_month DATE,
    end_month DATE,
    batch_id INTEGER,
    CHECK (end_month IS NULL OR start_month IS NULL OR end_month >= start_month)
);

CREATE TABLE survey_waves (
    wave VARCHAR PRIMARY KEY,
    period VARCHAR CHECK (period IS NULL OR regexp_full_match(period, '\d{4}Q[1-4]')),
    batch_id INTEGER
);

CREATE TABLE ratings (
    wave VARCHAR NOT NULL,
    unit_code VARCHAR NOT NULL,
    rater_code VARCHAR NOT NULL,
    rater_group VARCHAR CHECK (rater_group IN ('班子成员', '中层干部', '一般干部', '服务对象')),
    target VARCHAR NOT NULL,  -- '班子' for the team, else a cadre_code
    dimension VARCHAR NOT NULL,
    grade TINYINT NOT NULL CHECK (grade BETWEEN 1 AND 4),
    period VARCHAR CHECK (period IS NULL OR regexp_full_match(period, '\d{4}Q[1-4]')),
    batch_id INTEGER,
    extra JSON
);

CREATE TABLE quarterly_grades (
    cadre_code VARCHAR NOT NULL,
    period VARCHAR NOT NULL CHECK (regexp_full_match(period, '\d{4}Q[1-4]')),
    grade TINYINT NOT NULL CHECK (grade BETWEEN 1 AND 4),
    comment VARCHAR,
    batch_id INTEGER,
    extra JSON,
    PRIMARY KEY (cadre_code, period)
);

CREATE TABLE annual_grades (
    cadre_code VARCHAR NOT NULL,
    year INTEGER NOT NULL CHECK (year BETWEEN 1990 AND 2100),
    grade TINYINT NOT NULL CHECK (grade BETWEEN 1 AND 4),
    batch_id INTEGER,
    extra JSON,
    PRIMARY KEY (cadre_code, year)
);

CREATE TABLE report_items (
    unit_code VARCHAR NOT NULL,
    period VARCHAR NOT NULL CHECK (regexp_full_match(period, '\d{4}Q[1-4]')),
    task VARCHAR NOT NULL,
    completion DOUBLE NOT NULL CHECK (completion BETWEEN 0 AND 1),
    cadre_code VARCHAR,
    weight DOUBLE CHECK (weight IS NULL OR weight >= 0),
    target DOUBLE,
    actual DOUBLE,
    is_key BOOLEAN,
    batch_id INTEGER,
    extra JSON
);

-- 激励与纠偏. case_ref ties a record to a case (e.g. an accusation later cleared);
-- tolerated marks a record judged under 容错纠错 (「三个区分开来」).
CREATE TABLE actions (
    cadre_code VARCHAR NOT NULL,
    action_date DATE NOT NULL,
    kind VARCHAR NOT NULL CHECK (kind IN (
        '嘉奖', '记三等功', '授予荣誉', '会议表扬', '推荐先进', '优先晋升职级',
        '提醒谈话', '诫勉', '问责', '蜗牛奖', '岗位调整', '转任职级', '免职')),
    reason VARCHAR,
    issuer VARCHAR,
    case_ref VARCHAR,
    tolerated BOOLEAN NOT NULL DEFAULT false,
    batch_id INTEGER,
    extra JSON
);

CREATE TABLE petitions (
    case_code VARCHAR PRIMARY KEY,
    received_on DATE NOT NULL,
    category VARCHAR NOT NULL,
    unit_code VARCHAR,
    cadre_code VARCHAR,
    status VARCHAR CHECK (status IN ('受理', '办理中', '已办结')),
    closed_on DATE,
    lead_dept VARCHAR,
    co_depts VARCHAR[],
    care_talks INTEGER CHECK (care_talks IS NULL OR care_talks >= 0),
    batch_id INTEGER,
    extra JSON,
    CHECK (closed_on IS NULL OR closed_on >= received_on)
);

-- 澄清正名: one row per cleared cadre; a case may clear several cadres.
-- accuser_outcome may hold several measures (党纪处分 and 行政处罚) for the same accuser.
CREATE TABLE clarifications (
    case_code VARCHAR NOT NULL,
    cadre_code VARCHAR NOT NULL,
    cleared_on DATE NOT NULL,
    nature VARCHAR NOT NULL CHECK (nature IN ('失实检举控告', '诬告陷害', '恶意举报')),
    accuser_outcome VARCHAR[],
    note VARCHAR,
    batch_id INTEGER,
    extra JSON,
    PRIMARY KEY (case_code, cadre_code)
);
