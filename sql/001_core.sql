-- 001_core: locations, their mail routes, the requests, the outbox and the
-- idempotency keys. Applied once by `frontdeskctl db migrate`.

CREATE TABLE locations (
	id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	slug          text NOT NULL UNIQUE
	              CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
	name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	thank_you_url text CHECK (thank_you_url IS NULL OR length(thank_you_url) <= 500),
	active        boolean NOT NULL DEFAULT true,
	created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE routes (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	location_id integer NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
	email       text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
	kind        text NOT NULL DEFAULT 'to' CHECK (kind IN ('to', 'cc', 'bcc')),
	created_at  timestamptz NOT NULL DEFAULT now()
);
-- One address once per location, whatever its case or kind.
CREATE UNIQUE INDEX routes_location_email ON routes (location_id, lower(email));

CREATE TABLE appointment_requests (
	id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	reference      text NOT NULL UNIQUE
	               CHECK (reference ~ '^FD-[0-9A-HJKMNP-TV-Z]{8}$'),
	location_id    integer NOT NULL REFERENCES locations (id),
	status         text NOT NULL CHECK (status IN ('received', 'spam')),
	first_name     text NOT NULL,
	last_name      text NOT NULL,
	email          text,
	phone          text,
	service        text,
	preferred_time text,
	message        text,
	consent        boolean NOT NULL DEFAULT false,
	submission_id  text,
	created_at     timestamptz NOT NULL DEFAULT now(),
	CHECK (email IS NOT NULL OR phone IS NOT NULL)
);
CREATE INDEX appointment_requests_created ON appointment_requests (created_at);
CREATE INDEX appointment_requests_location ON appointment_requests (location_id, created_at);

-- One row per message to send. A request has one, or more after a resend.
-- The Message-ID is chosen here, so every retry carries the same one.
CREATE TABLE outbox (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	request_id      bigint NOT NULL REFERENCES appointment_requests (id) ON DELETE CASCADE,
	message_id      text NOT NULL UNIQUE,
	status          text NOT NULL DEFAULT 'pending'
	                CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
	attempts        integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	lease_until     timestamptz,
	claimed_by      text,
	last_error      text,
	created_at      timestamptz NOT NULL DEFAULT now(),
	sent_at         timestamptz
);
CREATE INDEX outbox_request ON outbox (request_id);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status IN ('pending', 'sending');

-- Every delivery attempt: when, how it ended, what the server said.
CREATE TABLE outbox_attempts (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	outbox_id    bigint NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
	attempted_at timestamptz NOT NULL DEFAULT now(),
	outcome      text NOT NULL CHECK (outcome IN ('sent', 'retry', 'dead')),
	smtp_code    integer,
	reply        text
);
CREATE INDEX outbox_attempts_outbox ON outbox_attempts (outbox_id);

-- Accepted posts' idempotency keys, kept 24 hours. The fingerprint is the
-- SHA-256 of the post's known fields, to tell a replay from a collision.
CREATE TABLE idempotency_keys (
	key         text PRIMARY KEY CHECK (key ~ '^[A-Za-z0-9_-]{1,64}$'),
	fingerprint bytea NOT NULL,
	reference   text NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
