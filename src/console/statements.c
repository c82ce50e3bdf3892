/* statements: the console's whole SQL, prepared on each connection. Every
 * statement that answers with JSON builds it in the database, so that the
 * shapes live in one place each; every change writes its audit row in the
 * same statement or transaction. */
#include "console.h"

/* A message being sent is, to staff, still pending; spam is never mailed. */
#define DELIVERY(r) \
    "CASE WHEN " r ".status = 'spam' THEN NULL ELSE" \
    " (SELECT CASE o.status WHEN 'sending' THEN 'pending' ELSE o.status END" \
    "  FROM outbox o WHERE o.request_id = " r ".id ORDER BY o.id DESC" \
    "  LIMIT 1) END"

/* The inbox's filters: $1 the caller's locations (int[], NULL: all), $2
 * a location slug, $3 the status, $4 q as a case-insensitive substring
 * pattern, $5 q's digits as a pattern (NULL: none), $6 q as a reference
 * (an alias leads to its request: frontdesk_reference(), sql/009_keys.sql,
 * in a subquery of its own, so that it is asked once, not once a row).
 * The search expressions are those of sql/007's trigram indexes. */
#define INBOX_WHERE \
    " WHERE ($1::int[] IS NULL OR r.location_id = ANY ($1::int[]))" \
    " AND ($2::text IS NULL OR l.slug = $2) AND r.status = $3" \
    " AND ($4::text IS NULL" \
    "  OR r.reference = (SELECT public.frontdesk_reference($6))" \
    "  OR (r.first_name || ' ' || r.last_name || ' ' || coalesce(r.email, ''))" \
    "   ILIKE $4" \
    "  OR regexp_replace(coalesce(r.phone, ''), '[^0-9]', '', 'g') LIKE $5)"

#define INBOX_FROM \
    " FROM appointment_requests r JOIN locations l ON l.id = r.location_id"

/* A page's cursor: microseconds since the epoch and the id of its last
 * row, "USEC.ID"; exact, and opaque to the pages. */
#define CURSOR(r) \
    "((extract(epoch FROM " r ".created_at) * 1000000)::bigint)::text" \
    " || '.' || " r ".id"
#define CURSOR_TS(p) "(timestamptz 'epoch' + (" p ")::bigint * interval '1 microsecond')"

static const char inbox_sql[] =
    "WITH page AS (SELECT r.id, r.reference, r.created_at, l.slug,"
    "  r.first_name, r.last_name, r.status, r.triage, " DELIVERY("r")
    "  AS delivery" INBOX_FROM INBOX_WHERE
    "  AND ($7::text IS NULL OR r.triage = $7)"
    "  AND ($8::bigint IS NULL OR (r.created_at, r.id) < (" CURSOR_TS("$8")
    "   , $9::bigint))"
    "  ORDER BY r.created_at DESC, r.id DESC LIMIT $10::int + 1),"
    " shown AS (SELECT * FROM page ORDER BY created_at DESC, id DESC"
    "  LIMIT $10::int)"
    " SELECT json_build_object("
    "  'requests', coalesce((SELECT json_agg(json_build_object("
    "   'reference', p.reference, 'created_at', p.created_at,"
    "   'location', p.slug, 'first_name', p.first_name,"
    "   'last_name', p.last_name, 'status', p.status, 'triage', p.triage,"
    "   'unread', NOT EXISTS (SELECT 1 FROM request_reads rr"
    "    WHERE rr.request_id = p.id AND rr.user_id = $11::bigint),"
    "   'delivery', p.delivery) ORDER BY p.created_at DESC, p.id DESC)"
    "   FROM shown p), '[]'),"
    "  'counts', (SELECT json_build_object("
    "   'new', count(*) FILTER (WHERE r.triage = 'new'),"
    "   'contacted', count(*) FILTER (WHERE r.triage = 'contacted'),"
    "   'scheduled', count(*) FILTER (WHERE r.triage = 'scheduled'),"
    "   'closed', count(*) FILTER (WHERE r.triage = 'closed'))"
    "   " INBOX_FROM INBOX_WHERE "),"
    "  'next', CASE WHEN (SELECT count(*) FROM page) > $10::int THEN"
    "   (SELECT " CURSOR("s") " FROM shown s ORDER BY s.created_at, s.id"
    "    LIMIT 1) END)";

/* The export: the inbox's filters, every stored field, not paged. */
static const char inbox_csv_sql[] =
    "WITH rows AS (SELECT r.reference, to_json(r.created_at) #>> '{}'"
    "  AS created_at, r.status, " DELIVERY("r") " AS delivery,"
    "  l.slug AS location, r.triage, r.first_name, r.last_name, r.email,"
    "  r.phone, r.service, r.preferred_time, r.message, r.consent,"
    "  r.submission_id" INBOX_FROM INBOX_WHERE
    "  AND ($7::text IS NULL OR r.triage = $7)"
    "  ORDER BY r.created_at, r.id),"
    " au AS (INSERT INTO audit_log (actor, address, action, detail)"
    "  VALUES ($8, $9, 'export', $10))"
    " SELECT * FROM rows";

static const char location_id_sql[] =
    "SELECT id FROM locations WHERE slug = $1";

/* A request's id and location, for access_may_see, and its own
 * reference: the path may name it by an alias, which an answer during an
 * outage gave for a post the database had already (frontdesk_reference(),
 * sql/009_keys.sql). */
static const char request_find_sql[] =
    "SELECT id, location_id, status, reference FROM appointment_requests"
    " WHERE reference = public.frontdesk_reference($1)";

/* Fetching the whole request: read for the caller, audited as a view. */
static const char request_view_sql[] =
    "WITH rd AS (INSERT INTO request_reads (request_id, user_id)"
    "  VALUES ($1::bigint, $2::bigint) ON CONFLICT DO NOTHING),"
    " au AS (INSERT INTO audit_log (actor, address, action, object)"
    "  VALUES ($3, $4, 'view', $5))"
    " SELECT (console_request_json($1::bigint, $2::bigint)::jsonb"
    "  || '{\"unread\": false}')::text";

static const char request_json_sql[] =
    "SELECT console_request_json($1::bigint, $2::bigint)::text";

static const char request_triage_sql[] =
    "WITH old AS (SELECT id, triage FROM appointment_requests"
    "  WHERE id = $1::bigint FOR UPDATE),"
    " up AS (UPDATE appointment_requests r SET triage = $2 FROM old"
    "  WHERE r.id = old.id RETURNING r.id),"
    " au AS (INSERT INTO audit_log (actor, address, action, object, detail)"
    "  SELECT $3, $4, 'triage', $5, 'triage: \"' || old.triage || '\" -> \"'"
    "  || $2 || '\"' FROM old WHERE old.triage <> $2)"
    " SELECT count(*) FROM up";

static const char request_note_sql[] =
    "WITH n AS (INSERT INTO notes (request_id, author, text)"
    "  VALUES ($1::bigint, $2, $3) RETURNING author, at, text),"
    " au AS (INSERT INTO audit_log (actor, address, action, object)"
    "  VALUES ($2, $4, 'note', $5))"
    " SELECT json_build_object('author', author, 'at', at, 'text', text)::text"
    " FROM n";

/* Under frontdeskctl's outbox lock (see ctl.h), so that a purge cannot
 * take the request away meanwhile. $1 reference, $2 Message-ID domain. */
static const char request_resend_sql[] =
    "WITH req AS (SELECT id, status FROM appointment_requests"
    "  WHERE reference = $1),"
    " ins AS (INSERT INTO outbox (request_id, message_id)"
    "  SELECT id, '<' || $1 || '.' || gen_random_uuid() || '@' || $2 || '>'"
    "  FROM req WHERE status = 'received' RETURNING id),"
    " au AS (INSERT INTO audit_log (actor, address, action, object)"
    "  SELECT $3, $4, 'resend', $1 FROM ins)"
    " SELECT (SELECT status FROM req), (SELECT id FROM ins)";

static const char request_unspam_sql[] =
    "WITH req AS (SELECT id, status FROM appointment_requests"
    "  WHERE reference = $1),"
    " upd AS (UPDATE appointment_requests SET status = 'received'"
    "  WHERE reference = $1 AND status = 'spam' RETURNING id),"
    " ins AS (INSERT INTO outbox (request_id, message_id)"
    "  SELECT id, '<' || $1 || '.' || gen_random_uuid() || '@' || $2 || '>'"
    "  FROM upd RETURNING id),"
    " au AS (INSERT INTO audit_log (actor, address, action, object)"
    "  SELECT $3, $4, 'unspam', $1 FROM ins)"
    " SELECT (SELECT status FROM req), (SELECT id FROM ins)";

static const char outbox_lock_sql[] =
    "SELECT pg_advisory_xact_lock(7046522102)";
static const char locations_lock_sql[] =
    "SELECT pg_advisory_xact_lock(7046522101)";

/* A session by its token's hash, touched unless the request is a page's
 * background poll ($2). $3 idle timeout, $4 session_max (seconds), $5
 * who needs a second factor: off, admins or all. */
static const char session_get_sql[] =
    "WITH s AS (UPDATE sessions SET last_seen = CASE WHEN $2::boolean"
    "  THEN last_seen ELSE now() END"
    "  WHERE token_hash = $1::bytea"
    "  AND last_seen > now() - make_interval(secs => $3::int)"
    "  AND created_at > now() - make_interval(secs => $4::int)"
    "  RETURNING id, user_id, csrf, remote_user)"
    " SELECT s.id, u.id, u.username, u.role,"
    "  (NOT s.remote_user AND u.totp_secret IS NULL AND ($5 = 'all' OR"
    "   ($5 = 'admins' AND u.role = 'admin'))),"
    "  s.csrf, s.remote_user,"
    "  coalesce((SELECT string_agg(ul.location_id::text, ',')"
    "   FROM user_locations ul WHERE ul.user_id = u.id), ''),"
    "  u.totp_secret IS NOT NULL"
    " FROM s JOIN users u ON u.id = s.user_id WHERE u.enabled";

/* A new session; the user's sessions that have run out go. */
static const char session_new_sql[] =
    "WITH old AS (DELETE FROM sessions WHERE user_id = $2::bigint"
    "  AND (last_seen < now() - make_interval(secs => $5::int)"
    "  OR created_at < now() - make_interval(secs => $6::int)))"
    " INSERT INTO sessions (token_hash, user_id, csrf, remote_user)"
    " VALUES ($1::bytea, $2::bigint, $3, $4::boolean) RETURNING id";

static const char session_end_sql[] =
    "WITH d AS (DELETE FROM sessions WHERE id = $1::bigint RETURNING id)"
    " INSERT INTO audit_log (actor, address, action)"
    " SELECT $2, $3, 'sign_out' FROM d";

/* Sign-in: the account by name; locked is whether a lockout holds now. */
static const char user_by_name_sql[] =
    "SELECT id, role, password_hash, enabled, totp_secret, totp_last_step,"
    " coalesce(locked_until > now(), false)"
    " FROM users WHERE username = $1";

/* A failed sign-in: the count goes up (from 1 again once a lockout has
 * run out) and reaching $2 locks for $3 seconds. Returns whether the
 * account was locked before and is now. */
static const char user_failed_sql[] =
    "WITH old AS (SELECT id, coalesce(locked_until > now(), false) AS was,"
    "  CASE WHEN locked_until IS NOT NULL AND locked_until <= now()"
    "  THEN 0 ELSE failed_sign_ins END AS n"
    "  FROM users WHERE id = $1::bigint FOR UPDATE)"
    " UPDATE users u SET"
    "  failed_sign_ins = CASE WHEN old.was THEN u.failed_sign_ins"
    "   ELSE old.n + 1 END,"
    "  locked_until = CASE WHEN old.was THEN u.locked_until"
    "   WHEN old.n + 1 >= $2::int THEN now() + make_interval(secs => $3::int)"
    "   ELSE NULL END"
    " FROM old WHERE u.id = old.id"
    " RETURNING old.was, coalesce(u.locked_until > now(), false)";

/* A code is used once: the step only ever goes up, across processes. */
static const char user_step_sql[] =
    "UPDATE users SET totp_last_step = $2::bigint WHERE id = $1::bigint"
    " AND totp_last_step < $2::bigint RETURNING id";

static const char user_signed_in_sql[] =
    "UPDATE users SET failed_sign_ins = 0, locked_until = NULL,"
    " last_sign_in = now() WHERE id = $1::bigint";

static const char audit_sql[] =
    "INSERT INTO audit_log (actor, address, action, object, detail)"
    " VALUES ($1, $2, $3, $4, $5)";

/* The caller's own account; locations as [{slug, name}], every active
 * and inactive one for an admin. An admin past the enrolment gate also
 * gets the mail banner's data: the dead messages and the age in seconds
 * of the oldest one waiting (0: none waits); both from outbox's partial
 * indexes, whatever the history's length. */
static const char me_sql[] =
    "SELECT CASE WHEN u.role = 'admin' AND $3::text <> 'enrol'"
    "  THEN (b.me::jsonb || jsonb_build_object('mail', json_build_object("
    "   'dead', (SELECT count(*) FROM outbox WHERE status = 'dead'),"
    "   'oldest_pending_seconds', (SELECT coalesce(floor(extract(epoch FROM"
    "    now() - min(created_at))), 0)::bigint FROM outbox"
    "    WHERE status IN ('pending', 'sending')))))::text"
    "  ELSE b.me::text END"
    " FROM users u, LATERAL (SELECT json_build_object('username', u.username,"
    " 'role', u.role,"
    " 'locations', coalesce((SELECT json_agg(json_build_object('slug',"
    "  l.slug, 'name', l.name, 'active', l.active) ORDER BY l.id)"
    "  FROM locations l WHERE u.role = 'admin' OR l.id IN"
    "  (SELECT location_id FROM user_locations WHERE user_id = u.id)), '[]'),"
    " 'csrf', $2::text, 'second_factor', $3::text,"
    " 'idle_timeout', $4::int, 'session_max', $5::int,"
    " 'session_ends', (SELECT least(s.last_seen + make_interval(secs =>"
    "  $4::int), s.created_at + make_interval(secs => $5::int))"
    "  FROM sessions s WHERE s.id = $6::bigint)) AS me) b"
    " WHERE u.id = $1::bigint";

static const char me_hash_sql[] =
    "SELECT password_hash, totp_pending, totp_last_step FROM users"
    " WHERE id = $1::bigint";

static const char me_password_sql[] =
    "WITH up AS (UPDATE users SET password_hash = $2 WHERE id = $1::bigint"
    "  RETURNING id),"
    " s AS (DELETE FROM sessions WHERE user_id = $1::bigint"
    "  AND id <> $3::bigint),"
    " au AS (INSERT INTO audit_log (actor, address, action, object)"
    "  VALUES ($4, $5, 'user_passwd', $4))"
    " SELECT count(*) FROM up";

static const char me_2fa_pending_sql[] =
    "UPDATE users SET totp_pending = $2 WHERE id = $1::bigint";

static const char me_2fa_confirm_sql[] =
    "WITH up AS (UPDATE users SET totp_secret = totp_pending,"
    "  totp_pending = NULL, totp_last_step = $2::bigint"
    "  WHERE id = $1::bigint AND totp_pending = $3"
    "  AND totp_last_step < $2::bigint RETURNING id),"
    " au AS (INSERT INTO audit_log (actor, address, action, object)"
    "  SELECT $4, $5, 'second_factor_enrol', $4 FROM up)"
    " SELECT count(*) FROM up";

/* auth = remote_user: the account a web server named. */
static const char user_remote_sql[] =
    "SELECT id, enabled FROM users WHERE username = $1";

/* Admin: locations with their routes, in the order the mailer reads them
 * (its "routes" statement): admin.c resolves each location's next_email
 * from them by the mailer's rule (common/route.c). */
#define LOCATION_JSON(l) \
    "json_build_object('slug', " l ".slug, 'name', " l ".name," \
    " 'thank_you_url', " l ".thank_you_url, 'active', " l ".active," \
    " 'routes', coalesce((SELECT json_agg(json_build_object('email'," \
    "  rt.email, 'kind', rt.kind) ORDER BY rt.id) FROM routes rt" \
    "  WHERE rt.location_id = " l ".id), '[]'))"

static const char locations_sql[] =
    "SELECT coalesce(json_agg(" LOCATION_JSON("l") " ORDER BY l.id),"
    " '[]')::text FROM locations l";

static const char location_json_sql[] =
    "SELECT " LOCATION_JSON("l") "::text FROM locations l WHERE l.slug = $1";

static const char location_add_sql[] =
    "WITH ins AS (INSERT INTO locations (slug, name, thank_you_url)"
    "  VALUES ($1, $2, $3) ON CONFLICT (slug) DO NOTHING RETURNING id),"
    " au AS (INSERT INTO audit_log (actor, address, action, object, detail)"
    "  SELECT $4, $5, 'location_add', $1, $6 FROM ins)"
    " SELECT count(*) FROM ins";

/* $2 name, $3 active, $4 thank_you_url, $5 whether to set it (null
 * clears it). Returns the old values and how many other locations are
 * active. */
static const char location_old_sql[] =
    "SELECT name, active, coalesce(thank_you_url, ''),"
    " (SELECT count(*) FROM locations o WHERE o.active AND o.slug <> $1)"
    " FROM locations WHERE slug = $1 FOR UPDATE";

static const char location_change_sql[] =
    "WITH up AS (UPDATE locations SET name = coalesce($2, name),"
    "  active = coalesce($3::boolean, active),"
    "  thank_you_url = CASE WHEN $5::boolean THEN $4 ELSE thank_you_url END"
    "  WHERE slug = $1 RETURNING id),"
    " au AS (INSERT INTO audit_log (actor, address, action, object, detail)"
    "  SELECT $6, $7, 'location_change', $1, $8 FROM up WHERE $8 <> '')"
    " SELECT count(*) FROM up";

static const char route_add_sql[] =
    "WITH loc AS (SELECT id FROM locations WHERE slug = $1),"
    " ins AS (INSERT INTO routes (location_id, email, kind)"
    "  SELECT id, $2, $3 FROM loc"
    "  ON CONFLICT (location_id, lower(email)) DO NOTHING"
    "  RETURNING email, kind),"
    " au AS (INSERT INTO audit_log (actor, address, action, object, detail)"
    "  SELECT $4, $5, 'route_add', $1, $6 FROM ins)"
    " SELECT EXISTS (SELECT 1 FROM loc), (SELECT json_build_object('email',"
    "  email, 'kind', kind)::text FROM ins)";

static const char route_remove_sql[] =
    "WITH loc AS (SELECT id FROM locations WHERE slug = $1),"
    " del AS (DELETE FROM routes WHERE location_id = (SELECT id FROM loc)"
    "  AND lower(email) = lower($2) RETURNING email, kind),"
    " au AS (INSERT INTO audit_log (actor, address, action, object, detail)"
    "  SELECT $3, $4, 'route_remove', $1, 'email: ' || to_json(email)::text"
    "  || '; kind: ' || to_json(kind)::text FROM del)"
    " SELECT EXISTS (SELECT 1 FROM loc), (SELECT count(*) FROM del)";

/* As `frontdeskctl outbox list --json`. */
#define OUTBOX_STATUS \
    "CASE o.status WHEN 'sending' THEN 'pending' ELSE o.status END"
static const char outbox_sql[] =
    "SELECT coalesce(json_agg(json_build_object('id', o.id,"
    " 'reference', r.reference, 'location', l.slug,"
    " 'status', " OUTBOX_STATUS ", 'attempts', o.attempts,"
    " 'queued', o.created_at, 'next_or_sent', CASE WHEN o.status IN"
    "  ('pending', 'sending') THEN o.next_attempt_at ELSE o.sent_at END,"
    " 'last_error', o.last_error) ORDER BY o.id), '[]')::text"
    " FROM outbox o JOIN appointment_requests r ON r.id = o.request_id"
    " JOIN locations l ON l.id = r.location_id"
    " WHERE $1::text IS NULL OR " OUTBOX_STATUS " = $1";

/* $1 an id, or NULL for every dead message. */
static const char outbox_retry_sql[] =
    "WITH target AS (SELECT id, status FROM outbox"
    "  WHERE $1::bigint IS NULL OR id = $1::bigint),"
    " upd AS (UPDATE outbox SET status = 'pending', attempts = 0,"
    "  next_attempt_at = now(), created_at = now(), lease_until = NULL,"
    "  claimed_by = NULL"
    "  WHERE id IN (SELECT id FROM target WHERE status = 'dead')"
    "  RETURNING id),"
    " au AS (INSERT INTO audit_log (actor, address, action, object)"
    "  SELECT $2, $3, 'outbox_retry', id::text FROM upd)"
    " SELECT (SELECT count(*) FROM upd),"
    "  (SELECT " OUTBOX_STATUS " FROM target o LIMIT 1)";

/* As `frontdeskctl user list --json`; $1 who needs a second factor. */
#define USER_JSON(u) \
    "json_build_object('username', " u ".username, 'role', " u ".role," \
    " 'locations', coalesce((SELECT json_agg(l.slug ORDER BY l.id)" \
    "  FROM user_locations ul JOIN locations l ON l.id = ul.location_id" \
    "  WHERE ul.user_id = " u ".id), '[]'), 'enabled', " u ".enabled," \
    " 'second_factor', CASE WHEN " u ".totp_secret IS NOT NULL THEN 'on'" \
    "  WHEN $1 = 'all' OR ($1 = 'admins' AND " u ".role = 'admin')" \
    "  THEN 'enrol' ELSE 'off' END," \
    " 'last_sign_in', " u ".last_sign_in," \
    " 'locked', coalesce(" u ".locked_until > now(), false))"

static const char users_sql[] =
    "SELECT coalesce(json_agg(" USER_JSON("u") " ORDER BY u.username),"
    " '[]')::text FROM users u";

static const char user_json_sql[] =
    "SELECT " USER_JSON("u") "::text FROM users u WHERE u.username = $2";

static const char user_find_sql[] =
    "SELECT id, role, enabled, coalesce((SELECT string_agg(l.slug, ','"
    " ORDER BY l.slug) FROM user_locations ul JOIN locations l"
    " ON l.id = ul.location_id WHERE ul.user_id = u.id), '')"
    " FROM users u WHERE username = $1 FOR UPDATE";

/* $1 a text[] of slugs: how many of them exist. */
static const char slugs_known_sql[] =
    "SELECT count(*) = cardinality($1::text[]) FROM locations"
    " WHERE slug = ANY ($1::text[])";

static const char user_add_sql[] =
    "WITH u AS (INSERT INTO users (username, role, password_hash)"
    "  VALUES ($1, $2, $3) ON CONFLICT (username) DO NOTHING RETURNING id),"
    " ul AS (INSERT INTO user_locations (user_id, location_id)"
    "  SELECT u.id, l.id FROM u, locations l WHERE l.slug = ANY ($4::text[])),"
    " au AS (INSERT INTO audit_log (actor, address, action, object, detail)"
    "  SELECT $5, $6, 'user_add', $1, $7 FROM u)"
    " SELECT count(*) FROM u";

static const char user_set_role_sql[] =
    "UPDATE users SET role = $2 WHERE id = $1::bigint";
/* The locations an account keeps are left alone: one statement's DELETE
 * and INSERT see the same snapshot, so an INSERT of a row the DELETE takes
 * would collide with it (a PATCH that keeps a location and adds one). */
static const char user_set_locations_sql[] =
    "WITH d AS (DELETE FROM user_locations WHERE user_id = $1::bigint"
    "  AND location_id NOT IN (SELECT id FROM locations"
    "  WHERE slug = ANY ($2::text[])))"
    " INSERT INTO user_locations (user_id, location_id)"
    " SELECT $1::bigint, id FROM locations WHERE slug = ANY ($2::text[])"
    " ON CONFLICT DO NOTHING";
/* Disabling ends the sessions; enabling lifts a lockout too. */
static const char user_set_enabled_sql[] =
    "WITH s AS (DELETE FROM sessions WHERE user_id = $1::bigint"
    "  AND NOT $2::boolean)"
    " UPDATE users SET enabled = $2::boolean,"
    "  failed_sign_ins = CASE WHEN $2::boolean THEN 0 ELSE failed_sign_ins END,"
    "  locked_until = CASE WHEN $2::boolean THEN NULL ELSE locked_until END"
    " WHERE id = $1::bigint";

static const char user_reset_2fa_sql[] =
    "WITH up AS (UPDATE users SET totp_secret = NULL, totp_pending = NULL,"
    "  totp_last_step = 0 WHERE username = $1 RETURNING id),"
    " s AS (DELETE FROM sessions WHERE user_id IN (SELECT id FROM up)),"
    " au AS (INSERT INTO audit_log (actor, address, action, object)"
    "  SELECT $2, $3, 'user_reset_2fa', $1 FROM up)"
    " SELECT count(*) FROM up";

/* The audit log, newest first, paged by id: $1 user, $2 reference, $3
 * since (a date), $4 before (an id), $5 limit. */
#define AUDIT_WHERE \
    " WHERE ($1::text IS NULL OR a.actor = $1)" \
    " AND ($2::text IS NULL OR a.object = $2)" \
    " AND ($3::date IS NULL OR a.at >= $3::date)"
static const char audit_page_sql[] =
    "WITH page AS (SELECT * FROM audit_log a" AUDIT_WHERE
    "  AND ($4::bigint IS NULL OR a.id < $4::bigint)"
    "  ORDER BY a.id DESC LIMIT $5::int + 1),"
    " shown AS (SELECT * FROM page ORDER BY id DESC LIMIT $5::int)"
    " SELECT json_build_object('rows', coalesce((SELECT json_agg("
    "  json_build_object('at', s.at, 'user', s.actor, 'address', s.address,"
    "  'action', s.action, 'object', s.object, 'detail', s.detail)"
    "  ORDER BY s.id DESC) FROM shown s), '[]'),"
    " 'next', CASE WHEN (SELECT count(*) FROM page) > $5::int THEN"
    "  (SELECT min(id)::text FROM shown) END)::text";

static const char audit_csv_sql[] =
    "SELECT to_json(a.at) #>> '{}' AS at, a.actor AS user, a.address,"
    " a.action, a.object, a.detail FROM audit_log a" AUDIT_WHERE
    " AND ($4::bigint IS NULL OR a.id < $4::bigint)"
    " ORDER BY a.id DESC LIMIT $5::int";

const struct db_statement console_statements[] = {
	{ "inbox", inbox_sql, 11 },
	{ "inbox_csv", inbox_csv_sql, 10 },
	{ "location_id", location_id_sql, 1 },
	{ "request_find", request_find_sql, 1 },
	{ "request_view", request_view_sql, 5 },
	{ "request_json", request_json_sql, 2 },
	{ "request_triage", request_triage_sql, 5 },
	{ "request_note", request_note_sql, 5 },
	{ "request_resend", request_resend_sql, 4 },
	{ "request_unspam", request_unspam_sql, 4 },
	{ "outbox_lock", outbox_lock_sql, 0 },
	{ "locations_lock", locations_lock_sql, 0 },
	{ "session_get", session_get_sql, 5 },
	{ "session_new", session_new_sql, 6 },
	{ "session_end", session_end_sql, 3 },
	{ "user_by_name", user_by_name_sql, 1 },
	{ "user_failed", user_failed_sql, 3 },
	{ "user_step", user_step_sql, 2 },
	{ "user_signed_in", user_signed_in_sql, 1 },
	{ "audit", audit_sql, 5 },
	{ "me", me_sql, 6 },
	{ "me_hash", me_hash_sql, 1 },
	{ "me_password", me_password_sql, 5 },
	{ "me_2fa_pending", me_2fa_pending_sql, 2 },
	{ "me_2fa_confirm", me_2fa_confirm_sql, 5 },
	{ "user_remote", user_remote_sql, 1 },
	{ "locations", locations_sql, 0 },
	{ "location_json", location_json_sql, 1 },
	{ "location_add", location_add_sql, 6 },
	{ "location_old", location_old_sql, 1 },
	{ "location_change", location_change_sql, 8 },
	{ "route_add", route_add_sql, 6 },
	{ "route_remove", route_remove_sql, 4 },
	{ "outbox", outbox_sql, 1 },
	{ "outbox_retry", outbox_retry_sql, 3 },
	{ "users", users_sql, 1 },
	{ "user_json", user_json_sql, 2 },
	{ "user_find", user_find_sql, 1 },
	{ "slugs_known", slugs_known_sql, 1 },
	{ "user_add", user_add_sql, 7 },
	{ "user_set_role", user_set_role_sql, 2 },
	{ "user_set_locations", user_set_locations_sql, 2 },
	{ "user_set_enabled", user_set_enabled_sql, 2 },
	{ "user_reset_2fa", user_reset_2fa_sql, 3 },
	{ "audit_page", audit_page_sql, 5 },
	{ "audit_csv", audit_csv_sql, 5 },
};
const size_t console_nstatements = sizeof(console_statements) /
    sizeof(console_statements[0]);
