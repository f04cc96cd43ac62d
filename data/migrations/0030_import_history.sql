-- Version 30 (importer, issue #3): rows a corrected re-import replaced, kept so that rolling
-- back that import restores them. One shadow table per contract table, same columns without
-- constraints, plus replaced_by = the batch whose import replaced the row. Rolling back a batch
-- puts its replaced rows back (when their own batch is still active and the key is free) and
-- deletes them here. cadre_posts_replaced keeps the open post an import closed.

CREATE TABLE units_replaced AS SELECT * FROM units LIMIT 0;
ALTER TABLE units_replaced ADD COLUMN replaced_by INTEGER;
CREATE TABLE cadres_replaced AS SELECT * FROM cadres LIMIT 0;
ALTER TABLE cadres_replaced ADD COLUMN replaced_by INTEGER;
CREATE TABLE cadre_posts_replaced AS SELECT * FROM cadre_posts LIMIT 0;
ALTER TABLE cadre_posts_replaced ADD COLUMN replaced_by INTEGER;
CREATE TABLE ratings_replaced AS SELECT * FROM ratings LIMIT 0;
ALTER TABLE ratings_replaced ADD COLUMN replaced_by INTEGER;
CREATE TABLE quarterly_grades_replaced AS SELECT * FROM quarterly_grades LIMIT 0;
ALTER TABLE quarterly_grades_replaced ADD COLUMN replaced_by INTEGER;
CREATE TABLE annual_grades_replaced AS SELECT * FROM annual_grades LIMIT 0;
ALTER TABLE annual_grades_replaced ADD COLUMN replaced_by INTEGER;
CREATE TABLE report_items_replaced AS SELECT * FROM report_items LIMIT 0;
ALTER TABLE report_items_replaced ADD COLUMN replaced_by INTEGER;
CREATE TABLE actions_replaced AS SELECT * FROM actions LIMIT 0;
ALTER TABLE actions_replaced ADD COLUMN replaced_by INTEGER;
CREATE TABLE petitions_replaced AS SELECT * FROM petitions LIMIT 0;
ALTER TABLE petitions_replaced ADD COLUMN replaced_by INTEGER;
CREATE TABLE clarifications_replaced AS SELECT * FROM clarifications LIMIT 0;
ALTER TABLE clarifications_replaced ADD COLUMN replaced_by INTEGER;
