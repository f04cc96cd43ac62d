-- Version 50: the demo's hidden truth records teams whose quality moved during the span.
ALTER TABLE demo_truth ADD COLUMN prior_group TINYINT;
ALTER TABLE demo_truth ADD COLUMN changed_in VARCHAR;
