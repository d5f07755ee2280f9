-- The caregivers with a usable SSN (trimmed, not blank, 9 digits once dashes and spaces are set aside:
-- anything else cannot be a person's SSN, D23), one row per "Caregiver Id" (D8: the smallest
-- application id, then SSN, code, name, status). Included wherever a visit is resolved to its SSN (the
-- delta groups, the skip counts, detection, InService), so all of them resolve a caregiver to the same
-- person.
SELECT
    "Caregiver Id" AS caregiver_id,
    "Application Caregiver Id" AS app_caregiver_id,
    TRIM("SSN") AS ssn,
    "Caregiver Code" AS caregiver_code,
    "Caregiver Fullname" AS caregiver_fullname,
    "Caregiver Firstname" AS caregiver_firstname,
    "Caregiver Lastname" AS caregiver_lastname,
    "Status" AS caregiver_status
FROM DIMCAREGIVER
WHERE TRIM("SSN") <> ''
  AND REGEXP_LIKE(REPLACE(REPLACE(TRIM("SSN"), '-', ''), ' ', ''), '^[0-9]{9}$')
QUALIFY ROW_NUMBER() OVER (
    PARTITION BY "Caregiver Id"
    ORDER BY "Application Caregiver Id" NULLS LAST, TRIM("SSN"), "Caregiver Code" NULLS LAST,
        "Caregiver Fullname" NULLS LAST, "Status" NULLS LAST
) = 1
