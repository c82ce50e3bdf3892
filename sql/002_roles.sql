-- 002_roles: one group role per program, each with only the rights its
-- statements need. Applied once by `frontdeskctl db migrate`, which must run
-- as the database owner with the right to create roles (CREATEROLE).
--
-- The roles are NOLOGIN groups, made only when missing (roles belong to the
-- whole cluster: several databases may share them). A deployment grants
-- them to login roles, one per program, and names those in each program's
-- own configuration file's [database] conninfo, e.g.:
--
--   CREATE ROLE fd_web LOGIN IN ROLE frontdesk_web;        -- frontdesk
--   CREATE ROLE fd_mailer LOGIN IN ROLE frontdesk_mailer;  -- frontdesk-mailer
--   CREATE ROLE fd_admin LOGIN IN ROLE frontdesk_admin;    -- frontdeskctl
--
-- (with peer authentication, name them after the system users, or map them
-- in pg_ident.conf). `db migrate` itself runs as the owner, not fd_admin;
-- fd_admin can run it only to learn that nothing is left to apply.
--
-- EVERY NEW TABLE, COLUMN OR SEQUENCE needs grants: a later migration that
-- adds one (rate limits, spool replay, metrics, ...) grants, in that same
-- file, what each of these three roles needs of it and nothing more. No
-- grant means no access: a program's tests, run under its role, show what
-- is missing. Identity columns need no sequence grant.

DO $$
DECLARE
	r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['frontdesk_web', 'frontdesk_mailer',
	    'frontdesk_admin'] LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
			BEGIN
				EXECUTE format('CREATE ROLE %I NOLOGIN', r);
			EXCEPTION WHEN duplicate_object OR unique_violation THEN
				-- made meanwhile by a migration of another
				-- database in the same cluster
				NULL;
			END;
		END IF;
	END LOOP;
END
$$;

GRANT USAGE ON SCHEMA public TO frontdesk_web, frontdesk_mailer,
    frontdesk_admin;

-- frontdesk (the web): reads the active locations, stores a request with
-- its outbox row and its idempotency key, and counts the queue for
-- /metrics. It never reads routes (recipients) or a stored request's
-- contents, never changes a message, never deletes.
GRANT SELECT (id, slug, name, thank_you_url, active) ON locations
    TO frontdesk_web;
-- The precheck joins a key's request to find its location; the submit's
-- INSERT ... RETURNING id reads id.
GRANT SELECT (id, reference, location_id) ON appointment_requests
    TO frontdesk_web;
GRANT INSERT (reference, location_id, status, first_name, last_name, email,
    phone, service, preferred_time, message, consent, submission_id)
    ON appointment_requests TO frontdesk_web;
-- RETURNING id; status and created_at for the queue depth and age.
GRANT SELECT (id, status, created_at) ON outbox TO frontdesk_web;
GRANT INSERT (request_id, message_id) ON outbox TO frontdesk_web;
GRANT SELECT (outcome) ON outbox_attempts TO frontdesk_web;
-- INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE k.created_at < ...
-- reads the conflicting row and rewrites an expired key.
GRANT SELECT, INSERT ON idempotency_keys TO frontdesk_web;
GRANT UPDATE (fingerprint, reference, created_at) ON idempotency_keys
    TO frontdesk_web;

-- frontdesk-mailer: reads a message's request, location and routes,
-- claims and moves outbox rows on, records every attempt. It never makes
-- or changes a request.
GRANT SELECT ON locations, routes, appointment_requests TO frontdesk_mailer;
GRANT SELECT, UPDATE ON outbox TO frontdesk_mailer;
GRANT INSERT ON outbox_attempts TO frontdesk_mailer;

-- frontdeskctl: locations and routes; requests to list, unspam (status)
-- and purge; messages to resend and retry; expired idempotency keys.
-- Outbox rows and attempts go with a purged request by ON DELETE CASCADE,
-- which runs with the owner's rights: no DELETE on them here.
GRANT SELECT, INSERT, UPDATE ON locations TO frontdesk_admin;
GRANT SELECT, INSERT, DELETE ON routes TO frontdesk_admin;
GRANT SELECT, DELETE ON appointment_requests TO frontdesk_admin;
GRANT UPDATE (status) ON appointment_requests TO frontdesk_admin;
GRANT SELECT, INSERT, UPDATE ON outbox TO frontdesk_admin;
GRANT SELECT ON outbox_attempts TO frontdesk_admin;
GRANT SELECT, DELETE ON idempotency_keys TO frontdesk_admin;
GRANT SELECT ON schema_migrations TO frontdesk_admin;
