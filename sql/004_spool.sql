-- 004_spool: a request spooled while the database was down is replayed
-- with the time it was accepted, not the time it was stored.
GRANT INSERT (created_at) ON appointment_requests TO frontdesk_web;
