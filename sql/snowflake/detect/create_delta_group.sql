-- The chunk's delta groups as plan stored them (PostgreSQL run_scope_group), loaded into the session by
-- insert_delta_group.sql: detect reads the scope plan decided instead of recomputing it. Same columns
-- as plan's VC_DELTA_GROUP (plan/create_delta_group.sql), which a detect chunk of a run without plan
-- builds instead.
CREATE OR REPLACE TEMPORARY TABLE VC_DELTA_GROUP (visit_date DATE, ssn VARCHAR, chunk INTEGER)
