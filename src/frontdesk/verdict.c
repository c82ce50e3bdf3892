/* verdict: which answer a POST gets. */
#include "verdict.h"

enum verdict
verdict_decide(const struct verdict_facts *f)
{
	if (f->checks_failed)
		return VERDICT_UNAVAILABLE;
	if (f->honeypot)
		return f->valid ? VERDICT_STORE_SPAM : VERDICT_DROP_SPAM;
	switch (f->key) {
	case KEY_SAME:
		return VERDICT_REPLAY;
	case KEY_OTHER:
		return VERDICT_CONFLICT;
	case KEY_PENDING:
	case KEY_ERROR:
		return VERDICT_UNAVAILABLE;
	case KEY_NEW:
		break;
	}
	return f->valid ? VERDICT_STORE : VERDICT_INVALID;
}
