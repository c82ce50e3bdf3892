/* bare: the floor frontdesk is measured against (bench/bench.py). A FastCGI
 * responder with frontdesk's shape and none of its work: THREADS threads,
 * each its own PostgreSQL connection and an FCGX_Accept_r loop; each post's
 * body is read, then the request row and its outbox row are inserted by one
 * prepared statement (store.c's submit without a key), with no parsing or
 * checks. Not installed; bench.py builds it:
 *   cc -O2 bare.c $(pkg-config --cflags --libs fcgi libpq) -lpthread
 *   bare SOCKET THREADS CONNINFO */
#include <fcgiapp.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *conninfo;
static int sock;
static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;

#define SUBMIT "WITH loc AS (SELECT id FROM locations WHERE slug = $2 AND" \
    " active), req AS (INSERT INTO appointment_requests (reference," \
    " location_id, status, first_name, last_name, email, phone, service," \
    " preferred_time, message, consent) SELECT $1, loc.id, 'received'," \
    " 'Maria', 'Gonzalez', 'maria.gonzalez@example.com', '(212) 555-0143'," \
    " 'Back Pain & Sciatica', 'Weekday mornings', 'Shooting pain down my" \
    " left leg since March.', true FROM loc RETURNING id), ob AS (INSERT" \
    " INTO outbox (request_id, message_id) SELECT id, '<' || $1 || '.' ||" \
    " gen_random_uuid() || '@clinic.example>' FROM req RETURNING id)" \
    " SELECT (SELECT count(*) FROM ob)"

static void *
worker(void *arg)
{
	static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	unsigned seed = (unsigned)(size_t)arg * 2654435761u ^ (unsigned)getpid();
	PGconn *db = PQconnectdb(conninfo);
	FCGX_Request req;
	char body[65536], ref[12];

	PQclear(PQprepare(db, "submit", SUBMIT, 2, NULL));
	FCGX_InitRequest(&req, sock, 0);
	for (;;) {
		const char *vals[2] = { ref, "midtown" };
		unsigned long long r = (unsigned long long)rand_r(&seed) << 31 ^
		    (unsigned)rand_r(&seed);
		PGresult *res;
		int ok;

		pthread_mutex_lock(&accept_lock);
		ok = FCGX_Accept_r(&req);
		pthread_mutex_unlock(&accept_lock);
		if (ok < 0)
			break;
		while (FCGX_GetStr(body, sizeof(body), req.in) > 0)
			;
		ref[0] = 'F', ref[1] = 'D', ref[2] = '-', ref[11] = '\0';
		for (int i = 0; i < 8; i++, r >>= 5)
			ref[3 + i] = crockford[r & 31];
		res = PQexecPrepared(db, "submit", 2, vals, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			FCGX_FPrintF(req.out, "Status: 201 Created\r\nContent-Type: "
			    "application/json\r\n\r\n{\"reference\":\"%s\","
			    "\"status\":\"received\"}", ref);
		else
			FCGX_FPrintF(req.out, "Status: 500 Internal Server Error\r\n"
			    "Content-Type: text/plain\r\n\r\n%s",
			    PQerrorMessage(db));
		PQclear(res);
		FCGX_Finish_r(&req);
	}
	PQfinish(db);
	return NULL;
}

int
main(int argc, char **argv)
{
	int n = argc == 4 ? atoi(argv[2]) : 0;
	pthread_t t[256];

	if (n < 1 || n > 256 || FCGX_Init() != 0 ||
	    (sock = FCGX_OpenSocket(argv[1], 128)) < 0) {
		fprintf(stderr, "usage: bare SOCKET THREADS CONNINFO\n");
		return 2;
	}
	chmod(argv[1], 0666);
	conninfo = argv[3];
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, (void *)(size_t)i);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}
