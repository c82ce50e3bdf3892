/* access: who may do what in the console. */
#include "access.h"

int
access_check(const struct access_route *r, const struct access_session *s,
    const struct access_request *q, const char **why)
{
	if (q->foreign_origin) {
		*why = "this request comes from another site";
		return 403;
	}
	if (r->need == NEED_NOBODY)
		return 0;
	if (s == NULL || !s->valid) {
		*why = "sign in first";
		return 401;
	}
	if (s->must_enrol && !r->enrol_ok) {
		*why = "set up your second factor first";
		return 403;
	}
	if (r->need == NEED_ADMIN && s->role != ACCESS_ADMIN) {
		*why = "only an admin may do this";
		return 403;
	}
	if (q->changes && !r->no_csrf && !q->csrf_ok) {
		*why = "missing or wrong X-CSRF-Token";
		return 403;
	}
	return 0;
}

bool
access_may_see(const struct access_session *s, int location_id)
{
	if (s == NULL || !s->valid || s->must_enrol)
		return false;
	if (s->role == ACCESS_ADMIN)
		return true;
	for (size_t i = 0; i < s->nlocations; i++)
		if (s->locations[i] == location_id)
			return true;
	return false;
}
