-- Issue 14: the tiering model is chosen per run among candidates; record which and why.
-- method_chosen: the candidate actually used (e.g. gmm_blocks); selection: JSON with the rule,
-- each candidate's bootstrap stability and whether peer-group (单位类别) offsets were removed.
ALTER TABLE tier_runs ADD COLUMN method_chosen VARCHAR;
ALTER TABLE tier_runs ADD COLUMN selection JSON;
