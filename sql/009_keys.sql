-- 009_keys: the web reaches idempotency keys only by a lookup by key,
-- through the functions below; it can no longer list the keys, and a
-- key's fingerprint is keyed with a secret that only these functions read
-- (found by review, issue 12). Before, frontdesk_web could read every key
-- with an unsalted SHA-256 of the patient's fields: enough to confirm a
-- guess of who asked for an appointment. And a reference answered during
-- an outage, for a post the database held already, leads to that post's
-- request, while one key never stores two requests (reference_aliases,
-- frontdesk_key_replay). (008 is left to another branch.)
--
-- frontdesk sends the SHA-256 of a post's fields as they would be stored
-- (src/frontdesk/fingerprint.c: the "digest"); what is kept is
-- HMAC-SHA-256(secret, digest). Neither a stolen web credential (no
-- SELECT here, and no function hands a fingerprint out) nor a dump made
-- without the secret (pg_dump --exclude-table-data=fingerprint_secret,
-- docs/production.md) can tell whether a guess of the fields is right.
-- Every function is SECURITY DEFINER with a fixed search_path (pg_temp
-- last) and names its objects with their schema, as in 006.

-- pgcrypto ships with PostgreSQL and is a trusted extension: the database
-- owner adds it. Its hmac() and gen_random_bytes() are named as public.*
-- below; a pgcrypto installed in another schema stops this migration
-- here (the INSERT), not a post later.
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;

-- One row: the secret. No role but the owner has any right on it.
CREATE TABLE fingerprint_secret (
	one    boolean PRIMARY KEY DEFAULT true CHECK (one),
	secret bytea NOT NULL CHECK (length(secret) = 32)
);
INSERT INTO fingerprint_secret (secret) VALUES (public.gen_random_bytes(32));

-- The keyed fingerprint of a digest. A database restored from a dump
-- made without the secret has none: it makes itself a new one, and the
-- keys taken before then no longer match theirs (a repost within their
-- 24 hours is answered 409, never stored twice). Only the functions below
-- call it: to anyone else it would be an oracle.
CREATE FUNCTION public.frontdesk_fingerprint(p_digest bytea)
RETURNS bytea
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bytea;
BEGIN
	SELECT f.secret INTO s FROM public.fingerprint_secret f;
	IF s IS NULL THEN
		INSERT INTO public.fingerprint_secret (secret)
		VALUES (public.gen_random_bytes(32)) ON CONFLICT DO NOTHING;
		SELECT f.secret INTO s FROM public.fingerprint_secret f;
	END IF;
	RETURN public.hmac(p_digest, s, 'sha256');
END
$$;

-- The precheck's question: the key's request, if the key was taken in
-- the last 24 hours, and whether it was taken for the same fields. No
-- row: the key is new (or expired). One lookup by one key; nothing else
-- of the table can be reached through it.
CREATE FUNCTION public.frontdesk_key_find(p_key text, p_digest bytea)
RETURNS TABLE (reference text, same boolean)
LANGUAGE sql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT k.reference, k.fingerprint = public.frontdesk_fingerprint(p_digest)
	FROM public.idempotency_keys k
	WHERE k.key = p_key AND k.created_at >= now() - interval '24 hours'
$$;

-- The submit's claim, in its statement: takes the key for p_reference,
-- or a key that expired; true when taken (and with no key at all: there
-- is nothing to take). A key held by another post, committed or being
-- committed (ON CONFLICT waits for it), is not taken: false, and the
-- statement stores nothing.
CREATE FUNCTION public.frontdesk_key_claim(p_key text, p_digest bytea,
    p_reference text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF p_key IS NULL THEN
		RETURN true;
	END IF;
	INSERT INTO public.idempotency_keys AS k (key, fingerprint, reference)
	VALUES (p_key, public.frontdesk_fingerprint(p_digest), p_reference)
	ON CONFLICT (key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
	    reference = EXCLUDED.reference, created_at = now()
	WHERE k.created_at < now() - interval '24 hours';
	RETURN FOUND;
END
$$;

-- A reference answered during an outage for a post that the database
-- held already (another host stored it before, or a repost reached the
-- spool): the replay stores nothing twice, and the reference leads to the
-- request the post is (request show, the console). A purged request takes
-- its aliases with it.
CREATE TABLE reference_aliases (
	alias      text PRIMARY KEY
	           CHECK (alias ~ '^FD-[0-9A-HJKMNP-TV-Z]{8}$'),
	reference  text NOT NULL
	           REFERENCES appointment_requests (reference) ON DELETE CASCADE,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reference_aliases_reference ON reference_aliases (reference);
GRANT SELECT ON reference_aliases TO frontdesk_admin, frontdesk_console;

-- A reference as a patient or the front desk has it: a request's own, or
-- else the request an alias leads to (a request of that very reference
-- comes first); anything else as it is. The one rule by which frontdeskctl
-- and the console resolve an alias. It runs with its caller's rights (no
-- SET: the planner inlines it, and the lookup is done once a statement).
CREATE FUNCTION public.frontdesk_reference(p_reference text)
RETURNS text
LANGUAGE sql STABLE
AS $$
	SELECT coalesce((SELECT a.reference FROM public.reference_aliases a
	    WHERE a.alias = p_reference AND NOT EXISTS (
	    SELECT 1 FROM public.appointment_requests r
	    WHERE r.reference = p_reference)), p_reference)
$$;
REVOKE ALL ON FUNCTION public.frontdesk_reference(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.frontdesk_reference(text)
    TO frontdesk_admin, frontdesk_console;

-- The replay's question, in its statement, for a request spooled at p_at
-- under p_reference, answered once: state
--   'new'   the key is this request's: taken now (also from a key that
--           had expired by p_at, or whose request is gone), or by an
--           earlier try of this same replay; store it under the key;
--   'same'  the database holds the key, from within 24 hours of p_at, for
--           the same fields under another reference: nothing is stored or
--           mailed, and p_reference becomes an alias of that request;
--   'other' the key was taken, within those 24 hours, for other fields:
--           the patient was told "accepted", so the request is stored and
--           mailed all the same, but without the key, which stays the
--           first post's (one key never stores two requests);
-- and reference, the key's.
CREATE FUNCTION public.frontdesk_key_replay(p_key text, p_digest bytea,
    p_reference text, p_at timestamptz, OUT state text, OUT reference text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	fp bytea;
	k record;
BEGIN
	state := 'new';
	reference := p_reference;
	IF p_key IS NULL THEN
		RETURN;
	END IF;
	fp := public.frontdesk_fingerprint(p_digest);
	-- Waits for a twin being committed with the key, then sees it.
	INSERT INTO public.idempotency_keys (key, fingerprint, reference,
	    created_at)
	VALUES (p_key, fp, p_reference, p_at) ON CONFLICT (key) DO NOTHING;
	IF FOUND THEN
		RETURN;
	END IF;
	SELECT i.fingerprint, i.reference, i.created_at INTO k
	FROM public.idempotency_keys i WHERE i.key = p_key FOR UPDATE;
	IF k.reference = p_reference THEN
		RETURN;
	END IF;
	IF k.created_at < p_at - interval '24 hours' OR NOT EXISTS (
	    SELECT 1 FROM public.appointment_requests r
	    WHERE r.reference = k.reference) THEN
		UPDATE public.idempotency_keys SET fingerprint = fp,
		    reference = p_reference, created_at = p_at
		WHERE key = p_key;
		RETURN;
	END IF;
	reference := k.reference;
	IF k.fingerprint = fp THEN
		state := 'same';
		INSERT INTO public.reference_aliases (alias, reference)
		VALUES (p_reference, k.reference) ON CONFLICT (alias) DO NOTHING;
	ELSE
		state := 'other';
	END IF;
END
$$;

-- Functions are executable by PUBLIC unless told otherwise.
REVOKE ALL ON FUNCTION public.frontdesk_fingerprint(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.frontdesk_key_find(text, bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.frontdesk_key_claim(text, bytea, text)
    FROM PUBLIC;
REVOKE ALL ON FUNCTION public.frontdesk_key_replay(text, bytea, text,
    timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.frontdesk_key_find(text, bytea),
    public.frontdesk_key_claim(text, bytea, text),
    public.frontdesk_key_replay(text, bytea, text, timestamptz)
    TO frontdesk_web;

-- The web's own rights on the table go: it reads, takes and rewrites keys
-- only through the functions above.
REVOKE ALL ON idempotency_keys FROM frontdesk_web;

-- The fingerprints kept before this migration are SHA-256 of the raw
-- fields, which no digest keyed now matches: a repost of one, within its
-- 24 hours, is answered 409 (never stored twice). Rewriting them is not
-- possible (the raw fields are not kept); docs/production.md says so.
