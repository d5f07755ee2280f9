-- Excluded providers as lower-case uuid text (the detection compares LOWER(CR."Provider Id")).
SELECT DISTINCT "ProviderID"::text AS provider_id FROM excluded_agency WHERE "ProviderID" IS NOT NULL ORDER BY 1
