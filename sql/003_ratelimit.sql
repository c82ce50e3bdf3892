-- 003_ratelimit: the per-address post counter behind [limits]
-- per_ip_per_hour. One row per client address (an IPv4 address or an IPv6
-- /64) holding the times of its posts in the last hour. One row, so that
-- INSERT ... ON CONFLICT DO UPDATE locks it: posts from one address are
-- counted one after the other, exactly, whichever process or host takes
-- them. frontdeskctl purge removes rows with no post in the last hour.

CREATE TABLE rate_limits (
	addr text PRIMARY KEY CHECK (length(addr) BETWEEN 1 AND 64),
	hits timestamptz[] NOT NULL
);

-- frontdesk counts (INSERT ... ON CONFLICT DO UPDATE reads the row too).
GRANT SELECT, INSERT, UPDATE ON rate_limits TO frontdesk_web;
-- frontdeskctl purge forgets addresses that went quiet.
GRANT SELECT, DELETE ON rate_limits TO frontdesk_admin;
