/* test_access: the console's checks, in order, over every kind of route
 * and session, and the one rule of who may see a location. */
#include <string.h>

#include "access.h"
#include "tap.h"

#define F false
#define T true

static const struct access_route nobody = { NEED_NOBODY, T, T };
static const struct access_route session = { NEED_SESSION, T, F };
static const struct access_route enrolled = { NEED_SESSION, F, F };
static const struct access_route staff = { NEED_STAFF, F, F };
static const struct access_route admin = { NEED_ADMIN, F, F };

static struct access_session none, s_staff, s_admin, s_gate;

static const struct {
	const char *desc;
	const struct access_route *route;
	const struct access_session *s;
	struct access_request q;     /* foreign_origin, changes, csrf_ok */
	int want;
} cases[] = {
	{ "sign-in needs no session", &nobody, &none, { F, T, F }, 0 },
	{ "sign-in from a foreign origin", &nobody, &none, { T, T, F }, 403 },
	{ "a foreign origin before the session", &staff, &none, { T, F, F }, 403 },
	{ "no session: 401", &staff, &none, { F, F, F }, 401 },
	{ "no session, admin route: 401 first", &admin, &none, { F, T, F }, 401 },
	{ "staff reads the inbox", &staff, &s_staff, { F, F, F }, 0 },
	{ "staff on an admin route: 403", &admin, &s_staff, { F, F, F }, 403 },
	{ "admin on an admin route", &admin, &s_admin, { F, F, F }, 0 },
	{ "admin on a staff route", &staff, &s_admin, { F, F, F }, 0 },
	{ "a change without CSRF: 403", &staff, &s_staff, { F, T, F }, 403 },
	{ "a change with CSRF", &staff, &s_staff, { F, T, T }, 0 },
	{ "a GET needs no CSRF", &admin, &s_admin, { F, F, F }, 0 },
	{ "role before CSRF (staff, admin change)", &admin, &s_staff,
	    { F, T, F }, 403 },
	{ "the gate: a staff route", &staff, &s_gate, { F, F, F }, 403 },
	{ "the gate: an admin route", &admin, &s_gate, { F, F, F }, 403 },
	{ "the gate: /me and /me/2fa", &session, &s_gate, { F, F, F }, 0 },
	{ "the gate: password change waits", &enrolled, &s_gate, { F, T, T },
	    403 },
	{ "the gate: sign-out with CSRF", &session, &s_gate, { F, T, T }, 0 },
	{ "the gate: sign-out needs CSRF too", &session, &s_gate, { F, T, F },
	    403 },
	{ "a foreign origin even for an admin", &admin, &s_admin, { T, T, T },
	    403 },
};

int
main(void)
{
	s_staff = (struct access_session){ .valid = true, .role = ACCESS_STAFF,
	    .locations = { 1, 3 }, .nlocations = 2 };
	s_admin = (struct access_session){ .valid = true, .role = ACCESS_ADMIN };
	s_gate = (struct access_session){ .valid = true, .role = ACCESS_ADMIN,
	    .must_enrol = true };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		int got = access_check(cases[i].route, cases[i].s, &cases[i].q,
		    &why);

		tap_ok(got == cases[i].want && (got == 0) == (why == NULL),
		    "%s: %d (want %d)", cases[i].desc, got, cases[i].want);
	}
	tap_ok(access_check(&staff, NULL, &(struct access_request){ 0 },
	    &(const char *){ NULL }) == 401, "a NULL session is none");
	tap_ok(access_may_see(&s_staff, 1) && access_may_see(&s_staff, 3),
	    "staff see their locations");
	tap_ok(!access_may_see(&s_staff, 2), "staff do not see another");
	tap_ok(access_may_see(&s_admin, 2) && access_may_see(&s_admin, 99),
	    "admins see every location");
	tap_ok(!access_may_see(&s_gate, 1), "not before enrolling");
	tap_ok(!access_may_see(&none, 1) && !access_may_see(NULL, 1),
	    "nobody without a session");
	return tap_done();
}
