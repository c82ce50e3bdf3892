/* submit: POST /appointments, from the body to the stored request. */
#ifndef FRONTDESK_SUBMIT_H
#define FRONTDESK_SUBMIT_H

#include "web/fcgi.h"

void submit_handle(struct fcgi_ctx *c);

#endif
