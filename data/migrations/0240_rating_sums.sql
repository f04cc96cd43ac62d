-- Version 240 (issue 17): team 民主测评 sums per period, unit, rater group and dimension, so that
-- the pages (队列研究's dimension means, 考核质量's city comparison) read ~700,000 sums instead of
-- grouping ~12 million team ratings at province. Maintained by data.rating_sums in the same
-- transaction as every write of ratings (import, rollback, demo); readers check the totals
-- against the ratings of the span they read and fall back to the ratings if they differ.
CREATE TABLE rating_sums (
    period VARCHAR NOT NULL,
    unit_code VARCHAR NOT NULL,
    rater_group VARCHAR,
    dimension VARCHAR NOT NULL,
    n BIGINT NOT NULL,      -- team ratings
    total BIGINT NOT NULL   -- sum of their grades (1–4)
);
INSERT INTO rating_sums
SELECT period, unit_code, rater_group, dimension, count(*), sum(grade)
FROM ratings WHERE target = '班子' AND period IS NOT NULL
GROUP BY ALL;
