-- Version 180 (issue 20): the seed's last two practices.
-- 学习教育: one row per team study or case-education session (政绩观专题讨论, 案例教育 …).
CREATE TABLE study_sessions (
    unit_code VARCHAR NOT NULL,
    session_date DATE NOT NULL,
    form VARCHAR NOT NULL CHECK (form IN ('专题讨论', '案例教育', '专题民主生活会', '集中培训', '其他')),
    topic VARCHAR,
    attended INTEGER CHECK (attended IS NULL OR attended >= 0),
    team_size INTEGER CHECK (team_size IS NULL OR team_size >= 0),
    hours DOUBLE CHECK (hours IS NULL OR hours >= 0),
    batch_id INTEGER,
    extra JSON,
    PRIMARY KEY (unit_code, session_date, form),
    CHECK (attended IS NULL OR team_size IS NULL OR attended <= team_size)
);

-- 会商调度: one row per 定期调度 / 问题会商 / 联合办理 meeting, with the cases it took up.
CREATE TABLE coord_meetings (
    meeting_code VARCHAR PRIMARY KEY,
    meeting_date DATE NOT NULL,
    meeting_kind VARCHAR NOT NULL CHECK (meeting_kind IN ('定期调度', '问题会商', '联合办理')),
    lead_dept VARCHAR NOT NULL,
    depts VARCHAR[],
    case_codes VARCHAR[],
    topic VARCHAR,
    batch_id INTEGER,
    extra JSON
);

-- 会商任务: what a meeting asked one department to do, by when, and when it was done.
CREATE TABLE coord_tasks (
    meeting_code VARCHAR NOT NULL,
    dept VARCHAR NOT NULL,
    task VARCHAR NOT NULL,
    case_code VARCHAR,
    assigned_on DATE,
    due_on DATE,
    done_on DATE,
    batch_id INTEGER,
    extra JSON,
    PRIMARY KEY (meeting_code, dept, task),
    CHECK (done_on IS NULL OR assigned_on IS NULL OR done_on >= assigned_on)
);

CREATE TABLE study_sessions_replaced AS SELECT * FROM study_sessions LIMIT 0;
ALTER TABLE study_sessions_replaced ADD COLUMN replaced_by INTEGER;
CREATE TABLE coord_meetings_replaced AS SELECT * FROM coord_meetings LIMIT 0;
ALTER TABLE coord_meetings_replaced ADD COLUMN replaced_by INTEGER;
CREATE TABLE coord_tasks_replaced AS SELECT * FROM coord_tasks LIMIT 0;
ALTER TABLE coord_tasks_replaced ADD COLUMN replaced_by INTEGER;
