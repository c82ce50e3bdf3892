-- 010_delivery_counts: /metrics in O(1) of the history. The delivery
-- attempts on record, by outcome, are counted as attempts are written and
-- removed (purge), not recounted on every scrape.

CREATE TABLE delivery_counts (
	outcome text PRIMARY KEY CHECK (outcome IN ('sent', 'retry', 'dead')),
	n       bigint NOT NULL DEFAULT 0 CHECK (n >= 0)
);
INSERT INTO delivery_counts (outcome, n)
SELECT o, (SELECT count(*) FROM outbox_attempts WHERE outcome = o)
FROM unnest(ARRAY['sent', 'retry', 'dead']) o;

-- One UPDATE per statement, whatever it inserted or deleted (a purge of a
-- year's attempts is one statement). SECURITY DEFINER: the mailer and
-- frontdeskctl need no rights on the counts; search_path fixed.
CREATE FUNCTION delivery_counts_add() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
	UPDATE public.delivery_counts c SET n = c.n + d.k
	FROM (SELECT outcome, count(*) AS k FROM new_rows GROUP BY outcome) d
	WHERE c.outcome = d.outcome;
	RETURN NULL;
END
$$;
CREATE FUNCTION delivery_counts_remove() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
	UPDATE public.delivery_counts c SET n = greatest(c.n - d.k, 0)
	FROM (SELECT outcome, count(*) AS k FROM old_rows GROUP BY outcome) d
	WHERE c.outcome = d.outcome;
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION delivery_counts_add() FROM PUBLIC;
REVOKE ALL ON FUNCTION delivery_counts_remove() FROM PUBLIC;
CREATE TRIGGER delivery_counts_insert AFTER INSERT ON outbox_attempts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION delivery_counts_add();
CREATE TRIGGER delivery_counts_delete AFTER DELETE ON outbox_attempts
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION delivery_counts_remove();

GRANT SELECT ON delivery_counts TO frontdesk_web;
