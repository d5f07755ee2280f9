-- How the work steps of a run ended, recorded by the engine (local runner, state machine) before the
-- closing step runs, so the closing step reads it from the ledger like every other input (D19, D20).
ALTER TABLE pipeline_run
    ADD COLUMN IF NOT EXISTS outcome text CHECK (outcome IN ('succeeded', 'failed', 'cancelled'));
