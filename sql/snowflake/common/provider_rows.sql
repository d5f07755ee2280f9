-- The active, non-demo providers (the legacy INNER join), one row per "Provider Id" (D8: the smallest
-- application id, then name, phone, tax number, state). Included by detection and InService.
SELECT
    "Provider Id" AS provider_id,
    "Application Provider Id" AS app_provider_id,
    "Provider Name" AS provider_name,
    "Phone Number 1" AS phone_number,
    "Federal Tax Number" AS federal_tax_number,
    "Address State" AS address_state
FROM DIMPROVIDER
WHERE "Is Active" = TRUE AND "Is Demo" = FALSE
QUALIFY ROW_NUMBER() OVER (
    PARTITION BY "Provider Id"
    ORDER BY "Application Provider Id" NULLS LAST, "Provider Name" NULLS LAST,
        "Phone Number 1" NULLS LAST, "Federal Tax Number" NULLS LAST, "Address State" NULLS LAST
) = 1
