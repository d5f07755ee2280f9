-- Move an identity sequence to the largest existing id, so inserts cannot collide.
SELECT setval(%(sequence)s, %(max_id)s)
