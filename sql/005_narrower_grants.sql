-- 005_narrower_grants: each role may change only the columns its program
-- changes, and read only what it uses (found by review of 002).
--
-- Nobody but the owner creates objects in the schema (PostgreSQL 15 and
-- later already take CREATE on public from PUBLIC; 13 and 14 did not).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- The mailer: claims and records (never the request or its Message-ID),
-- and reads what it mails.
REVOKE UPDATE ON outbox FROM frontdesk_mailer;
GRANT UPDATE (status, claimed_by, lease_until, attempts, next_attempt_at,
    last_error, sent_at) ON outbox TO frontdesk_mailer;
REVOKE SELECT ON locations, routes, appointment_requests FROM frontdesk_mailer;
GRANT SELECT (id, name) ON locations TO frontdesk_mailer;
GRANT SELECT (id, location_id, email, kind) ON routes TO frontdesk_mailer;
GRANT SELECT (id, reference, location_id, first_name, last_name, email,
    phone, service, preferred_time, message, consent, created_at)
    ON appointment_requests TO frontdesk_mailer;

-- The admin: a new message (resend, unspam) and a dead one back in line
-- (outbox retry); a location enabled or disabled.
REVOKE INSERT, UPDATE ON outbox FROM frontdesk_admin;
GRANT INSERT (request_id, message_id) ON outbox TO frontdesk_admin;
GRANT UPDATE (status, attempts, next_attempt_at, created_at, lease_until,
    claimed_by) ON outbox TO frontdesk_admin;
REVOKE UPDATE ON locations FROM frontdesk_admin;
GRANT UPDATE (active) ON locations TO frontdesk_admin;
