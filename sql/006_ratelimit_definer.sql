-- 006_ratelimit_definer: the web reaches the rate limit only through
-- frontdesk_rate_limit(), which counts a post and answers, in one call;
-- it can no longer read rate_limits (the recent clients' addresses, and
-- when each posted) nor create temporary tables (found by review, issue
-- 13). The answers are those of the statement frontdesk ran before, word
-- for word.

-- Counts a post from addr against its sliding hour (the hit is added only
-- while under lim) and answers whether it may go on and, if not, the
-- seconds until it may (Retry-After). INSERT ... ON CONFLICT DO UPDATE
-- works on the row's latest version under its lock, so concurrent posts
-- from one address are counted exactly. SECURITY DEFINER: it runs with
-- the owner's rights, so its search_path is fixed (pg_temp last, where no
-- temporary object can stand in for one of pg_catalog's) and the table is
-- named with its schema. PL/pgSQL keeps the statement's plan for the
-- session, as a prepared statement did.
CREATE FUNCTION public.frontdesk_rate_limit(p_addr text, p_limit integer,
    OUT allowed boolean, OUT retry_after integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO public.rate_limits AS r (addr, hits)
	VALUES (p_addr, ARRAY[now()])
	ON CONFLICT (addr) DO UPDATE SET hits = ARRAY(
		SELECT h FROM unnest(r.hits) AS h
		WHERE h > now() - interval '1 hour' ORDER BY h) ||
		CASE WHEN (SELECT count(*) FROM unnest(r.hits) AS h
		    WHERE h > now() - interval '1 hour') < p_limit
		THEN ARRAY[now()] ELSE '{}'::timestamptz[] END
	RETURNING r.hits[cardinality(r.hits)] = now(),
	    greatest(1, ceil(extract(epoch FROM r.hits[greatest(1,
	    cardinality(r.hits) - p_limit + 1)] + interval '1 hour' - now())))
	    ::int
	INTO allowed, retry_after;
END
$$;

-- Functions are executable by PUBLIC unless told otherwise.
REVOKE ALL ON FUNCTION public.frontdesk_rate_limit(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.frontdesk_rate_limit(text, integer)
    TO frontdesk_web;
REVOKE ALL ON rate_limits FROM frontdesk_web;

-- Temporary tables: PUBLIC may make them in a new database, and so every
-- role could. No program of ours does; a web role that is taken over
-- should not get a scratch space either. The owner keeps the right.
DO $$
BEGIN
	EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC, '
	    'frontdesk_web, frontdesk_mailer, frontdesk_admin',
	    current_database());
END
$$;
