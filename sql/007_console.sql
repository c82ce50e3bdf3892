-- 007_console: staff and admin accounts, their sessions, the work on each
-- request (triage, notes, who has read it) and the append-only audit log,
-- with the console's role. (006 is left to the rate limit's function.)

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles
	    WHERE rolname = 'frontdesk_console') THEN
		BEGIN
			CREATE ROLE frontdesk_console NOLOGIN;
		EXCEPTION WHEN duplicate_object OR unique_violation THEN
			NULL;
		END;
	END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO frontdesk_console;

-- An account. Staff see their locations (user_locations); admins see all.
-- The lockout counter and the last TOTP step accepted live here, so they
-- hold across threads, processes and restarts.
CREATE TABLE users (
	id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	username           text NOT NULL UNIQUE
	                   CHECK (username ~ '^[a-z0-9._@-]{1,64}$'),
	role               text NOT NULL CHECK (role IN ('staff', 'admin')),
	password_hash      text,          -- argon2id (libsodium crypto_pwhash_str)
	enabled            boolean NOT NULL DEFAULT true,
	totp_secret        text,          -- sealed with [console] key_file; NULL: not enrolled
	totp_pending       text,          -- an enrolment not confirmed yet
	totp_last_step     bigint NOT NULL DEFAULT 0,
	failed_sign_ins    integer NOT NULL DEFAULT 0,
	locked_until       timestamptz,
	last_sign_in       timestamptz,
	created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE user_locations (
	user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	location_id integer NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
	PRIMARY KEY (user_id, location_id)
);

-- A signed-in session: only the hash of the cookie's token is kept. The
-- CSRF token is a random value of its own.
CREATE TABLE sessions (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	token_hash  bytea NOT NULL UNIQUE,
	user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	csrf        text NOT NULL,
	remote_user boolean NOT NULL DEFAULT false,
	created_at  timestamptz NOT NULL DEFAULT now(),
	last_seen   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_user ON sessions (user_id);

-- The front desk's work on a request: its triage state, notes, and who has
-- opened it. Purge takes them with the request (the cascades); the audit
-- log stays.
ALTER TABLE appointment_requests ADD COLUMN triage text NOT NULL
    DEFAULT 'new' CHECK (triage IN ('new', 'contacted', 'scheduled', 'closed'));
CREATE INDEX appointment_requests_location_triage
    ON appointment_requests (location_id, status, triage, created_at);

-- The inbox's search: names and email as a substring, the phone's digits
-- as a substring, through trigram indexes (pg_trgm ships with
-- PostgreSQL and is a trusted extension: the database owner adds it).
-- The console's statements use these very expressions.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX appointment_requests_search ON appointment_requests
    USING gin ((first_name || ' ' || last_name || ' ' || coalesce(email, ''))
    gin_trgm_ops);
CREATE INDEX appointment_requests_phone_digits ON appointment_requests
    USING gin ((regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'))
    gin_trgm_ops);

CREATE TABLE notes (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	request_id bigint NOT NULL REFERENCES appointment_requests (id)
	           ON DELETE CASCADE,
	author     text NOT NULL,
	at         timestamptz NOT NULL DEFAULT now(),
	text       text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 2000)
);
CREATE INDEX notes_request ON notes (request_id);

CREATE TABLE request_reads (
	request_id bigint NOT NULL REFERENCES appointment_requests (id)
	           ON DELETE CASCADE,
	user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	at         timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, request_id)
);

-- Every sign-in, view, export and change, written in the change's own
-- transaction. Append-only: no role but the owner may change or remove a
-- row. It names objects by text (a reference, a slug, an account, an
-- outbox id), never by foreign key, so a purge leaves it whole. The detail
-- never holds a patient's data or a note's text.
CREATE TABLE audit_log (
	id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at      timestamptz NOT NULL DEFAULT clock_timestamp(),
	actor   text NOT NULL,
	address text,
	action  text NOT NULL CHECK (action IN ('sign_in', 'sign_in_failed',
	        'sign_out', 'lockout', 'view', 'export', 'triage', 'note',
	        'resend', 'unspam', 'location_add', 'location_change',
	        'route_add', 'route_remove', 'outbox_retry', 'user_add',
	        'user_change', 'user_passwd', 'user_reset_2fa',
	        'second_factor_enrol')),
	object  text,
	detail  text
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_object ON audit_log (object, at);
CREATE INDEX audit_log_actor ON audit_log (actor, at);

-- The console: reads requests of any location (its API checks each
-- session's locations), works them, and manages what admins manage there.
GRANT SELECT ON locations, routes, outbox_attempts TO frontdesk_console;
GRANT INSERT (slug, name, thank_you_url) ON locations TO frontdesk_console;
GRANT UPDATE (name, active, thank_you_url) ON locations TO frontdesk_console;
GRANT INSERT (location_id, email, kind), DELETE ON routes
    TO frontdesk_console;
GRANT SELECT ON appointment_requests TO frontdesk_console;
GRANT UPDATE (triage, status) ON appointment_requests TO frontdesk_console;
GRANT SELECT, INSERT (request_id, message_id) ON outbox TO frontdesk_console;
GRANT UPDATE (status, attempts, next_attempt_at, created_at, lease_until,
    claimed_by) ON outbox TO frontdesk_console;
GRANT SELECT, INSERT, UPDATE, DELETE ON users, user_locations, sessions,
    request_reads TO frontdesk_console;
GRANT SELECT, INSERT ON notes TO frontdesk_console;
GRANT SELECT, INSERT ON audit_log TO frontdesk_console;

-- frontdeskctl: accounts (user ...), the audit log (audit list, and a row
-- for each of its own changes and exports), and purge's cascades.
GRANT SELECT, INSERT, UPDATE, DELETE ON users, user_locations
    TO frontdesk_admin;
GRANT SELECT, DELETE ON sessions TO frontdesk_admin;
GRANT SELECT ON notes, request_reads TO frontdesk_admin;
GRANT SELECT, INSERT ON audit_log TO frontdesk_admin;
GRANT SELECT (triage) ON appointment_requests TO frontdesk_admin;
GRANT UPDATE (name, thank_you_url) ON locations TO frontdesk_admin;

-- The whole request as the console shows it: every stored field (named as
-- the form names them), its delivery, triage, notes, history and delivery
-- attempts. `unread` is the caller's. One place for this shape, for every
-- statement that answers with a request.
CREATE FUNCTION console_request_json(request bigint, caller bigint)
RETURNS json LANGUAGE sql STABLE AS $$
	SELECT json_build_object(
	    'reference', r.reference,
	    'created_at', r.created_at,
	    'status', r.status,
	    'delivery', CASE WHEN r.status = 'spam' THEN NULL ELSE
	        (SELECT CASE o.status WHEN 'sending' THEN 'pending'
	         ELSE o.status END FROM outbox o WHERE o.request_id = r.id
	         ORDER BY o.id DESC LIMIT 1) END,
	    'location', l.slug,
	    'location_name', l.name,
	    'first_name', r.first_name,
	    'last_name', r.last_name,
	    'email', r.email,
	    'phone', r.phone,
	    'service', r.service,
	    'preferred_time', r.preferred_time,
	    'message', r.message,
	    'consent', r.consent,
	    'submission_id', r.submission_id,
	    'triage', r.triage,
	    'unread', NOT EXISTS (SELECT 1 FROM request_reads rr
	        WHERE rr.request_id = r.id AND rr.user_id = caller),
	    'notes', coalesce((SELECT json_agg(json_build_object(
	        'author', n.author, 'at', n.at, 'text', n.text)
	        ORDER BY n.at, n.id) FROM notes n WHERE n.request_id = r.id),
	        '[]'),
	    'history', coalesce((SELECT json_agg(json_build_object(
	        'at', a.at, 'user', a.actor, 'action', a.action,
	        'detail', a.detail) ORDER BY a.at, a.id) FROM audit_log a
	        WHERE a.object = r.reference AND a.action IN ('triage', 'note',
	        'resend', 'unspam')), '[]'),
	    'deliveries', coalesce((SELECT json_agg(json_build_object(
	        'at', t.attempted_at, 'outcome', t.outcome, 'reply', t.reply)
	        ORDER BY t.attempted_at, t.id) FROM outbox o
	        JOIN outbox_attempts t ON t.outbox_id = o.id
	        WHERE o.request_id = r.id), '[]'))
	FROM appointment_requests r JOIN locations l ON l.id = r.location_id
	WHERE r.id = request
$$;
REVOKE ALL ON FUNCTION console_request_json(bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION console_request_json(bigint, bigint)
    TO frontdesk_console;
