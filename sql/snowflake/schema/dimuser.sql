-- Users, left-joined on the visit's "Visit Updated User Id".
CREATE TABLE IF NOT EXISTS DIMUSER (
    "User Id" VARCHAR,
    "User Fullname" VARCHAR
)
