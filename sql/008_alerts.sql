-- 008_alerts: nobody is left unaware when mail dies (CONTRACT, Email:
-- alert_to). Each death of a message is recorded once, by a trigger on
-- outbox, whichever path made it dead: a 5xx, give_up_after, a row that
-- cannot make a message, or an UPDATE by hand. The mailer tells
-- [mail] alert_to of the deaths not yet alerted, in digests, and keeps the
-- time of the last one in a single row, so that restarts and several
-- mailers alert each death once. The mailers' heartbeats tell /metrics
-- whether any mailer runs.

-- One row per death (a message retried by `outbox retry` that dies again
-- dies twice). alerted_at: when an alert naming it was accepted by the
-- SMTP server. A purged request takes its deaths with it.
CREATE TABLE mail_deaths (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	outbox_id  bigint NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
	died_at    timestamptz NOT NULL DEFAULT now(),
	attempts   integer NOT NULL,
	reply      text,
	alerted_at timestamptz
);
CREATE INDEX mail_deaths_outbox ON mail_deaths (outbox_id);
-- What the next digest holds: only the deaths not yet alerted, however
-- long the history.
CREATE INDEX mail_deaths_unalerted ON mail_deaths (id) WHERE alerted_at IS NULL;
-- Counting the dead (/metrics, the console's banner) costs the dead rows,
-- not the whole history of the outbox.
CREATE INDEX outbox_dead ON outbox (id) WHERE status = 'dead';

-- The trigger writes with the owner's rights: no program's role may add a
-- death of its own, and every role that can make a message dead records
-- it without a grant.
CREATE FUNCTION outbox_record_death() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	INSERT INTO public.mail_deaths (outbox_id, attempts, reply)
	VALUES (NEW.id, NEW.attempts, NEW.last_error);
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION outbox_record_death() FROM PUBLIC;
CREATE TRIGGER outbox_death AFTER UPDATE ON outbox FOR EACH ROW
    WHEN (NEW.status = 'dead' AND OLD.status IS DISTINCT FROM 'dead')
    EXECUTE FUNCTION outbox_record_death();
CREATE TRIGGER outbox_born_dead AFTER INSERT ON outbox FOR EACH ROW
    WHEN (NEW.status = 'dead')
    EXECUTE FUNCTION outbox_record_death();

-- The digest's clock, one row. A mailer claims it (FOR UPDATE SKIP
-- LOCKED, then a lease) when deaths wait and the last attempt is at least
-- alert_interval old; last_attempt_at moves at the claim, so a failed
-- alert is tried again with the next digest, and two mailers never send
-- the same one.
CREATE TABLE mail_alert_state (
	id              boolean PRIMARY KEY DEFAULT true CHECK (id),
	last_attempt_at timestamptz,
	last_sent_at    timestamptz,
	claimed_by      text,
	lease_until     timestamptz
);
INSERT INTO mail_alert_state DEFAULT VALUES;

-- Each mailer process (host:pid:nonce, as in outbox.claimed_by) writes
-- its row every few seconds; rows a day old are cleared by the others.
CREATE TABLE mailer_heartbeats (
	claimed_by text PRIMARY KEY CHECK (length(claimed_by) <= 128),
	started_at timestamptz NOT NULL DEFAULT now(),
	at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mailer_heartbeats_at ON mailer_heartbeats (at);

-- The mailer: reads the deaths and marks them alerted, claims and moves
-- the digest's clock, writes its heartbeat and clears stale ones.
GRANT SELECT, UPDATE (alerted_at) ON mail_deaths TO frontdesk_mailer;
GRANT SELECT, UPDATE (last_attempt_at, last_sent_at, claimed_by,
    lease_until) ON mail_alert_state TO frontdesk_mailer;
GRANT SELECT, INSERT (claimed_by), UPDATE (at), DELETE
    ON mailer_heartbeats TO frontdesk_mailer;
-- frontdesk: the newest heartbeat's age for /metrics, nothing else.
GRANT SELECT (at) ON mailer_heartbeats TO frontdesk_web;
-- The console's banner counts from outbox, which it reads already; it and
-- frontdeskctl get nothing here.
