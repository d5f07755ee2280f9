-- 0037: a pair's events in the conflict history (conflict_event, 0035) are found by the pair's "ID", no
-- longer by its two visit ids.
--
-- Every event entered two indexes keyed by random uuids (conflict_event_visit, conflict_event_con_visit):
-- two random leaf pages per event, read from disk once the table outgrows memory. Measured with
-- auto_explain on a night of SF 0.25 (bench/harness.py): the history insert of the new pairs took 2.5 s
-- of the merge's 11 s of server time, all of it in the insert (4,143 pages read for 2,658 events), not in
-- its join. "ID" grows with every new pair, so a new pair's event lands on the last page of this index.
-- `visit-conflicts explain` reads a pair's events by the stored row's "ID": (VisitID, ConVisitID) is
-- unique and the pipeline never deletes a pair, so it finds the same events. Parent events ("ID" NULL)
-- are found by "CONFLICTID", as before.
CREATE INDEX IF NOT EXISTS conflict_event_pair ON conflict_event ("ID") WHERE "ID" IS NOT NULL;
DROP INDEX IF EXISTS conflict_event_visit;
DROP INDEX IF EXISTS conflict_event_con_visit;
