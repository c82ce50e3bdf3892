-- 011_post: a post in one round trip and one transaction (issue 11).
-- frontdesk_post() counts the post against its address's rate limit,
-- looks its location and its idempotency key up and, when frontdesk says
-- the post is to be stored, claims the key and stores the request with
-- its outbox row: what three statements and two commits did before. And
-- the rate limit's cost no longer grows with [limits] per_ip_per_hour:
-- the counts of the last 61 minutes, not the time of every post.

-- The rate limit: per address, posts by minute over 61 minutes.
--   minute  the minute (Unix time / 60) of the last post counted;
--   counts  the posts of minute m at counts[m % 61 + 1], for the 61
--           minutes up to minute (older buckets are zeroed as their
--           number comes round again);
--   total   their sum.
-- The posts of minute m count until the start of minute m + 61: between
-- 60 and 61 minutes after each post, never less. So no sliding hour ever
-- holds more than the limit's posts, and an address may wait up to a
-- minute longer than an exact count of its posts would make it (the
-- error bound, docs/interface.md). Retry-After is the time until enough
-- minutes have left the window: what the count will say then, never too
-- little. One row per address still, whose lock orders the posts of one
-- address, whichever process or host takes them: the count is exact in
-- posts. Its work is at most 61 buckets a minute, whatever the limit.
-- (The process's own count while the database is down, limiter.c, keeps
-- the same 61 minutes.)
ALTER TABLE rate_limits ADD COLUMN minute integer,
    ADD COLUMN total integer, ADD COLUMN counts integer[];
UPDATE rate_limits r SET minute = n.cur,
    total = (SELECT count(*) FROM unnest(r.hits) AS h
        WHERE h > now() - interval '1 hour'),
    counts = ARRAY(SELECT (SELECT count(*) FROM unnest(r.hits) AS h
        WHERE h > now() - interval '1 hour' AND
        floor(extract(epoch FROM h) / 60)::integer % 61 = b)::integer
        FROM generate_series(0, 60) AS b ORDER BY b)
FROM (SELECT floor(extract(epoch FROM now()) / 60)::integer AS cur) AS n;
DELETE FROM rate_limits WHERE total = 0;
ALTER TABLE rate_limits DROP COLUMN hits,
    ALTER COLUMN minute SET NOT NULL, ALTER COLUMN total SET NOT NULL,
    ALTER COLUMN counts SET NOT NULL,
    ADD CHECK (total >= 0),
    ADD CHECK (array_ndims(counts) = 1 AND array_lower(counts, 1) = 1 AND
        cardinality(counts) = 61);

-- Counts a post from p_addr, at p_at, if it is under p_limit: 0. Over it:
-- nothing is counted, and the answer is the seconds until it is under
-- again (at least 1). Takes the address's row lock, held to the end of
-- the transaction: call it last. The usual post (a new address, or not
-- the first of its minute) is one statement; the first of a minute
-- zeroes the buckets that left the window since the address's last post
-- (at most 61).
CREATE FUNCTION public.frontdesk_rate_take(p_addr text, p_limit integer,
    p_at timestamptz)
RETURNS integer
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
	cur integer := floor(extract(epoch FROM p_at) / 60)::integer;
	b integer := cur % 61 + 1;
	last integer;
	tot bigint;
	c integer[];
BEGIN
	-- A new address, or one counted already this minute and under its
	-- limit: one statement.
	INSERT INTO public.rate_limits AS l (addr, minute, total, counts)
	VALUES (p_addr, cur, 1, array_fill(0, ARRAY[b - 1]) || 1 ||
	    array_fill(0, ARRAY[61 - b]))
	ON CONFLICT (addr) DO UPDATE
	SET counts[b] = l.counts[b] + 1, total = l.total + 1
	WHERE l.minute = cur AND l.total < p_limit;
	IF FOUND THEN
		RETURN 0;
	END IF;
	SELECT l.minute, l.total, l.counts INTO last, tot, c
	FROM public.rate_limits l WHERE l.addr = p_addr FOR UPDATE;
	-- A row newer than cur (a transaction that began before another's
	-- post was counted) is taken as it is.
	IF last < cur THEN
		FOR m IN last + 1 .. least(cur, last + 61) LOOP
			tot := tot - c[m % 61 + 1];
			c[m % 61 + 1] := 0;
		END LOOP;
	END IF;
	IF tot < p_limit THEN
		c[greatest(last, cur) % 61 + 1] :=
		    c[greatest(last, cur) % 61 + 1] + 1;
		UPDATE public.rate_limits SET minute = greatest(last, cur),
		    total = tot + 1, counts = c
		WHERE addr = p_addr;
		RETURN 0;
	END IF;
	IF last < cur THEN
		UPDATE public.rate_limits SET minute = cur, total = tot, counts = c
		WHERE addr = p_addr;
		last := cur;
	END IF;
	-- Under the limit once enough of the oldest minutes have left: the
	-- posts of minute m count until (m + 61) * 60.
	FOR m IN last - 60 .. last LOOP
		tot := tot - c[m % 61 + 1];
		IF tot < p_limit THEN
			RETURN greatest(1, ceil((m + 61) * 60.0 -
			    extract(epoch FROM p_at)))::integer;
		END IF;
	END LOOP;
	RETURN 3660;   -- not reached: tot is 0 by the last minute
END
$$;

-- A post, in one call. In:
--   p_addr, p_limit  the client's address (an IPv4 address or an IPv6
--                    /64) and [limits] per_ip_per_hour; NULL or 0: not
--                    counted;
--   p_store          frontdesk judged the post's fields valid (the
--                    location's availability is asked here) and no key
--                    of the spool's stands in the way: store it if the
--                    location is active and the key is new;
--   p_spam           a honeypot post: stored as spam (no outbox row);
--   p_key, p_digest  the idempotency key (NULL: none) and the SHA-256 of
--                    the fields as stored (src/frontdesk/fingerprint.c),
--                    of which only the HMAC is kept (009);
--   the request's fields, its reference and the Message-ID's domain.
-- Out:
--   retry_after      0, or over the limit: the seconds to wait (the post
--                    is answered 429 and nothing of it is stored);
--   location_active, thank_you_url    the location's, as of now;
--   key_reference, key_same, key_thank_you_url
--                    the key's request, if the key was taken in the last
--                    24 hours: for the same fields (a replay) or not (409),
--                    and that request's location's page;
--   stored           the request was stored, its key claimed.
-- The rate limit is counted last: the lock on an address's row is held
-- only for the commit, so posts from one address wait for each other
-- that long and no longer. One that turns out over the limit then, the
-- request stored already, raises SQLSTATE FD429 with the seconds to wait
-- as its DETAIL, and its transaction stores nothing. A key held by a twin
-- post being committed is waited for (the claim's ON CONFLICT), then
-- answered as the twin's. SECURITY DEFINER with a fixed search_path and
-- every object named with its schema, as in 006 and 009: the web role
-- reaches the rate limit and the keys through this function alone.
CREATE FUNCTION public.frontdesk_post(p_addr text, p_limit integer,
    p_reference text, p_location text, p_store boolean, p_spam boolean,
    p_first_name text, p_last_name text, p_email text, p_phone text,
    p_service text, p_preferred_time text, p_message text,
    p_consent boolean, p_key text, p_digest bytea, p_msgid_domain text,
    OUT retry_after integer, OUT location_active boolean,
    OUT thank_you_url text, OUT key_reference text, OUT key_same boolean,
    OUT key_thank_you_url text, OUT stored boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- One plan for the post's statement, made once a session: a post without
-- a key or a rate limit (NULLs the planner could fold away) would
-- otherwise be planned afresh each time, the plan cache finding its own
-- custom plans cheaper than the generic one.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
	counted boolean := p_addr IS NOT NULL AND coalesce(p_limit, 0) > 0;
	cur integer := floor(extract(epoch FROM now()) / 60)::integer;
	at_limit boolean;
	rate_counted boolean;
	fp bytea;
BEGIN
	retry_after := 0;
	FOR pass IN 1 .. 3 LOOP
		-- The post in one statement, as a rule. look: whether its address
		-- is at its limit already by the counts committed (no lock: such
		-- a post stores nothing, and frontdesk_rate_take answers it), its
		-- location, and its key (taken in the last 24 hours, and whether
		-- for the same fields: the HMAC of the digest with the secret,
		-- 009). go: the post is stored. claim: its key taken, or one that
		-- expired; a key another post holds (committed, or being
		-- committed: ON CONFLICT waits for it) stores nothing. req and ob:
		-- the request and its outbox row. rate: the count, if the address
		-- is new or was counted this minute already and is under its
		-- limit (else frontdesk_rate_take, below); run last (the main
		-- SELECT reads req, ob, then rate), so that the row lock it takes
		-- is held for the commit and no longer.
		WITH look AS (
			SELECT coalesce(rl.total >= p_limit AND rl.minute = cur, false)
			        AS at_limit,
			    l.id AS loc, coalesce(l.active, false) AS active,
			    l.thank_you_url, h.fp, k.reference AS key_reference,
			    k.fingerprint = h.fp AS key_same
			FROM (SELECT 1) AS one
			LEFT JOIN public.rate_limits rl ON counted AND rl.addr = p_addr
			LEFT JOIN public.locations l ON l.slug = p_location
			LEFT JOIN (SELECT public.hmac(p_digest, f.secret, 'sha256') AS fp
			    FROM public.fingerprint_secret f) AS h ON p_key IS NOT NULL
			LEFT JOIN public.idempotency_keys k ON k.key = p_key AND
			    k.created_at >= now() - interval '24 hours'
		), go AS (
			SELECT look.loc, look.fp FROM look
			WHERE p_store AND look.active AND look.key_reference IS NULL
			    AND NOT look.at_limit AND (p_key IS NULL OR look.fp IS NOT NULL)
		), claim AS (
			INSERT INTO public.idempotency_keys AS k (key, fingerprint,
			    reference)
			SELECT p_key, go.fp, p_reference FROM go WHERE p_key IS NOT NULL
			ON CONFLICT (key) DO UPDATE SET
			    fingerprint = EXCLUDED.fingerprint,
			    reference = EXCLUDED.reference, created_at = now()
			WHERE k.created_at < now() - interval '24 hours'
			RETURNING 1
		), req AS (
			INSERT INTO public.appointment_requests (reference,
			    location_id, status, first_name, last_name, email, phone,
			    service, preferred_time, message, consent, submission_id)
			SELECT p_reference, go.loc, CASE WHEN p_spam THEN 'spam'
			    ELSE 'received' END, p_first_name, p_last_name, p_email,
			    p_phone, p_service, p_preferred_time, p_message,
			    p_consent, p_key
			FROM go WHERE p_key IS NULL OR EXISTS (SELECT 1 FROM claim)
			RETURNING id
		), ob AS (
			INSERT INTO public.outbox (request_id, message_id)
			SELECT req.id, '<' || p_reference || '.' ||
			    gen_random_uuid() || '@' || p_msgid_domain || '>'
			FROM req WHERE NOT p_spam
			RETURNING 1
		), rate AS (
			INSERT INTO public.rate_limits AS r (addr, minute, total,
			    counts)
			SELECT p_addr, cur, 1, array_fill(0, ARRAY[cur % 61]) || 1 ||
			    array_fill(0, ARRAY[60 - cur % 61])
			FROM look WHERE counted AND NOT look.at_limit
			ON CONFLICT (addr) DO UPDATE
			SET counts[cur % 61 + 1] = r.counts[cur % 61 + 1] + 1,
			    total = r.total + 1
			WHERE r.minute = cur AND r.total < p_limit
			RETURNING 1
		)
		SELECT look.at_limit, look.active, look.thank_you_url, look.fp,
		    look.key_reference, look.key_same,
		    (SELECT count(*) FROM req) > 0, (SELECT count(*) FROM ob) >= 0
		    AND (SELECT count(*) FROM rate) > 0
		INTO at_limit, location_active, thank_you_url, fp, key_reference,
		    key_same, stored, rate_counted
		FROM look;
		IF at_limit THEN
			retry_after := public.frontdesk_rate_take(p_addr, p_limit,
			    now());
			IF retry_after > 0 THEN
				RETURN;
			END IF;
			counted := false;   -- counted now: a minute had come round
		ELSIF p_key IS NOT NULL AND fp IS NULL THEN
			-- a database restored without its secret makes a new one (009)
			PERFORM public.frontdesk_fingerprint(p_digest);
		ELSE
			EXIT;
		END IF;
	END LOOP;
	IF p_store AND location_active AND key_reference IS NULL AND
	    NOT stored AND p_key IS NOT NULL THEN
		-- a twin post committed first with the key: its answer
		SELECT k.reference, k.fingerprint = fp INTO key_reference, key_same
		FROM public.idempotency_keys k WHERE k.key = p_key;
	END IF;
	IF key_reference IS NOT NULL THEN
		SELECT l.thank_you_url INTO key_thank_you_url
		FROM public.appointment_requests r
		JOIN public.locations l ON l.id = r.location_id
		WHERE r.reference = key_reference;
	END IF;
	-- Not counted by the statement: the first post of a minute (or one
	-- over the limit since): counted now, under the row's lock.
	IF counted AND NOT rate_counted THEN
		retry_after := public.frontdesk_rate_take(p_addr, p_limit, now());
		IF retry_after > 0 AND stored THEN
			RAISE EXCEPTION 'over the rate limit' USING ERRCODE = 'FD429',
			    DETAIL = retry_after::text;
		END IF;
	END IF;
END
$$;

-- Functions are executable by PUBLIC unless told otherwise. The helpers
-- are the owner's, for frontdesk_post.
REVOKE ALL ON FUNCTION public.frontdesk_rate_take(text, integer,
    timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.frontdesk_post(text, integer, text, text,
    boolean, boolean, text, text, text, text, text, text, text, boolean,
    text, bytea, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.frontdesk_post(text, integer, text, text,
    boolean, boolean, text, text, text, text, text, text, text, boolean,
    text, bytea, text) TO frontdesk_web;

-- What frontdesk_post replaces: the web's three ways in, and its insert
-- rights on the requests and the outbox that the submit statement used.
-- The replay of a spooled request still inserts with the web's own
-- rights (and judges its key with frontdesk_key_replay), so those stay.
DROP FUNCTION public.frontdesk_rate_limit(text, integer);
DROP FUNCTION public.frontdesk_key_find(text, bytea);
DROP FUNCTION public.frontdesk_key_claim(text, bytea, text);
