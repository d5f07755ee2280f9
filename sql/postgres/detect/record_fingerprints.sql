-- After the compare (update_changed_pairs.sql), every compared pair of the writer's kind carries the
-- fingerprint of the row it was compared with, so an identical re-send is recognised by the probe next
-- time (migration 0030). The pairs the compare wrote already have it; this writes the others: pairs
-- stored before the fingerprint existed (once), and pairs D11 keeps as they are although the incoming
-- row differs (a flag kept at 'Y', AgencyContact kept when the source sends NULL). Only the fingerprint
-- changes: no status, no UpdatedDate (D11: an unchanged pair is not updated).
UPDATE conflictvisitmaps t
SET "PairFingerprint" = s."PairFingerprint"
FROM {incoming} s
WHERE t."VisitID" = s."VisitID"
  AND t."ConVisitID" = s."ConVisitID"
  AND {owned}
  AND t."PairFingerprint" IS DISTINCT FROM s."PairFingerprint"
