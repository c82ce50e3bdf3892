/* access: who may do what in the console. Pure: the route table's rule
 * and the one function that says whether a session may see a location.
 * tests/unit/test_access.c holds their tables. */
#ifndef FRONTDESK_ACCESS_H
#define FRONTDESK_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

#define ACCESS_MAX_LOCATIONS 256

enum access_role { ACCESS_STAFF, ACCESS_ADMIN };

/* Who a route is for. */
enum access_need {
	NEED_NOBODY,    /* no session needed: sign-in, metrics */
	NEED_SESSION,   /* any signed-in person, even before enrolment */
	NEED_STAFF,     /* staff or admin, enrolled where it is needed */
	NEED_ADMIN,     /* admins only */
};

/* A signed-in session, as the database gave it. */
struct access_session {
	bool valid;
	long long id;
	long long user_id;
	char username[65];
	enum access_role role;
	bool must_enrol;     /* a second factor is needed and not set up */
	bool enrolled;       /* a second factor is set up */
	char csrf[64];
	bool remote_user;
	int locations[ACCESS_MAX_LOCATIONS];   /* a staff account's */
	size_t nlocations;
};

/* What a request brings to the checks after routing. */
struct access_request {
	bool foreign_origin;   /* Origin present and not the console's own */
	bool changes;          /* POST, PATCH or DELETE */
	bool csrf_ok;          /* X-CSRF-Token is the session's */
};

struct access_route {
	enum access_need need;
	bool enrol_ok;         /* allowed while enrolment is pending */
	bool no_csrf;          /* a change without the CSRF token (sign-in) */
};

/* The status that stops the request, or 0 to go on, in the contract's
 * order: a foreign Origin on a change (403), no valid session (401), the
 * enrolment gate (403), the role (403), the CSRF token on a change
 * (403). The body (400) and the object (404, 409) are the handler's. */
int access_check(const struct access_route *r, const struct access_session *s,
    const struct access_request *q, const char **why);

/* May this session see (and so act on) requests and objects of the
 * location? Admins see every location; staff their own. Every handler
 * asks this, and a request it may not see is answered as not found. */
bool access_may_see(const struct access_session *s, int location_id);

#endif
