#!/bin/sh
# demo: the whole of frontdesk on this machine in one command. Installs the
# Debian packages it needs (as root), builds into build-demo/, and runs, in
# ./demo-run/: a PostgreSQL cluster on a unix socket, frontdesk, the mailer,
# a local SMTP server that writes every email into a maildir, the staff
# console (frontdesk-console), and nginx on 127.0.0.1:8080 serving the
# clinic's form and the console's pages and API with the shipped nginx
# files. It makes one console account per location and an admin (whose
# second factor it enrols), with generated passwords kept in the state
# folder (console-accounts, mode 0600), seeds a few requests into an empty
# database, and prints where to open it all.
# Ctrl-C (or closing the terminal) stops it all; run it again to pick up
# where it left off (the database and the maildir are kept; rm -rf demo-run
# for a clean slate: as root, a cluster kept outside it, in
# /var/tmp/frontdesk-demo-*, is then made afresh too).
#
# Usage: scripts/demo.sh
# Environment: FRONTDESK_DEMO_DIR (default ./demo-run), FRONTDESK_DEMO_PORT
# (default 8080).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
state=${FRONTDESK_DEMO_DIR:-$top/demo-run}
port=${FRONTDESK_DEMO_PORT:-8080}
build=$top/build-demo
python=/usr/bin/python3

say() { printf 'demo: %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

case $state in
*[[:space:]]*) die "the state folder's path may not hold white space: $state" ;;
/*) ;;
*) state=$(pwd)/$state ;;
esac

port_open() {  # port -> 0 when something answers on 127.0.0.1:port
	"$python" -c 'import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close()
except OSError:
    sys.exit(1)' "$1"
}

free_port() {
	"$python" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_until() {  # what seconds command... -> waits for command to succeed
	what=$1 secs=$2
	shift 2
	i=0
	while ! "$@" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le $((secs * 10)) ] || die "timed out waiting for $what"
		sleep 0.1
	done
}

# ---- stopping: every process this script started, by its id, in order
stop_pid() {  # name pid signal
	[ -n "$2" ] || return 0
	kill -"$3" "$2" 2>/dev/null || return 0
	i=0
	while kill -0 "$2" 2>/dev/null && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$2" 2>/dev/null; then
		say "$1 did not stop within 20s; killing it"
		kill -KILL "$2" 2>/dev/null || true
	fi
	wait "$2" 2>/dev/null || true
}

nginx_pid="" frontdesk_pid="" console_pid="" mailer_pid="" smtp_pid=""
pg_started=""
cleanup() {
	trap - EXIT INT TERM HUP
	# Every step is worth trying: after a hangup, even "say" fails (the
	# terminal is gone), and set -e must not end the cleanup there.
	set +e
	say "stopping"
	stop_pid nginx "$nginx_pid" QUIT
	stop_pid frontdesk "$frontdesk_pid" TERM
	stop_pid frontdesk-console "$console_pid" TERM
	stop_pid frontdesk-mailer "$mailer_pid" TERM
	stop_pid smtp "$smtp_pid" TERM
	if [ -n "$pg_started" ]; then
		as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -w -m fast stop \
			>/dev/null 2>&1 || true
	fi
	rm -f "$state/run/demo.pids"
	say "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Closing the terminal: dash runs the EXIT trap only on exit, not when a
# signal kills it, so each signal is turned into an exit.
trap 'exit 129' HUP

# A demo killed with SIGKILL leaves its processes (nginx on the port among
# them): stop those, by id, when they are still this demo's, before the
# port is checked.
if [ -f "$state/run/demo.pids" ]; then
	while read -r p; do
		if grep -qF -e "$state" -e "$build" "/proc/$p/cmdline" 2>/dev/null; then
			say "stopping process $p left by an earlier run"
			stop_pid "process $p" "$p" TERM
		fi
	done <"$state/run/demo.pids"
	rm -f "$state/run/demo.pids"
fi
# No state folder: a first run, or rm -rf demo-run for a clean slate.
fresh_state=""
[ -d "$state" ] || fresh_state=1

# ---- packages and build
"$top/scripts/install-deps.sh"
mkdir -p "$state/run" "$state/log" "$state/conf" "$state/nginx"
chmod 0755 "$state"
say "building into $build"
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$top" >"$state/log/build.log" 2>&1 ||
		{ cat "$state/log/build.log"; die "meson setup failed"; }
fi
meson compile -C "$build" >"$state/log/build.log" 2>&1 ||
	{ tail -40 "$state/log/build.log"; die "the build failed"; }
ctl=$build/frontdeskctl

if port_open "$port"; then
	die "127.0.0.1:$port is in use (another demo running?); set FRONTDESK_DEMO_PORT"
fi

# ---- PostgreSQL: a cluster of our own on a unix socket, no TCP port
# shellcheck disable=SC2012
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
[ -x "$pgbin/initdb" ] || die "PostgreSQL server binaries not found"
if [ "$(id -u)" = 0 ]; then
	as_pg() { runuser -u postgres -- "$@"; }
else
	as_pg() { "$@"; }
fi
pgdir=$state/pg
# The server runs as postgres: it must reach its folder (a checkout under
# /root is closed to it), and the socket path must fit in 107 bytes.
if [ "$(id -u)" != 0 ]; then
	[ ${#pgdir} -le 80 ] ||
		die "$pgdir is too long for a socket path; set FRONTDESK_DEMO_DIR"
elif ! runuser -u postgres -- test -x "$state" || [ ${#pgdir} -gt 80 ]; then
	sum=$(printf '%s' "$state" | cksum | cut -d' ' -f1)
	pgdir=/var/tmp/frontdesk-demo-$sum
	# Its link in the state folder went with rm -rf demo-run: so does
	# the cluster, stopped first should an earlier run have left it up.
	if [ -n "$fresh_state" ] && [ -d "$pgdir" ]; then
		say "removing the cluster an earlier $state left in $pgdir"
		if [ -f "$pgdir/data/postmaster.pid" ]; then
			as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -w -m fast stop \
				>/dev/null 2>&1 || true
		fi
		rm -rf "$pgdir"
	fi
	if [ -d "$state/pg" ] && [ ! -L "$state/pg" ]; then
		rmdir "$state/pg" 2>/dev/null ||
			die "$state/pg holds a cluster postgres cannot reach now"
	fi
	ln -sfn "$pgdir" "$state/pg"
	say "PostgreSQL cannot reach $state: its cluster lives in $pgdir"
fi
mkdir -p "$pgdir"
[ "$(id -u)" != 0 ] || chown postgres:postgres "$pgdir"
chmod 0700 "$pgdir"
if [ ! -f "$pgdir/data/PG_VERSION" ]; then
	say "creating a PostgreSQL cluster in $pgdir"
	as_pg "$pgbin/initdb" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
		-D "$pgdir/data" >"$state/log/initdb.log" 2>&1 ||
		{ cat "$state/log/initdb.log"; die "initdb failed"; }
fi
if as_pg "$pgbin/pg_ctl" -D "$pgdir/data" status >/dev/null 2>&1; then
	say "stopping the PostgreSQL server left by an earlier run"
	as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -w -m fast stop >/dev/null
fi
as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -w -l "$pgdir/server.log" \
	-o "-k $pgdir -c listen_addresses='' -c unix_socket_permissions=0700" \
	start >/dev/null || { tail -20 "$pgdir/server.log"; die "PostgreSQL did not start"; }
pg_started=1

psql_owner() {
	psql -X -q -v ON_ERROR_STOP=1 -h "$pgdir" -U postgres "$@"
}
if [ -z "$(psql_owner -d postgres -tAc \
	"SELECT 1 FROM pg_database WHERE datname = 'frontdesk'")" ]; then
	psql_owner -d postgres -c "CREATE DATABASE frontdesk"
fi

# ---- configuration: one file per program, each with its own role
sock=$state/run/fcgi.sock
# frontdesk takes unix socket paths of at most 95 bytes (see the README).
if [ ${#sock} -gt 95 ]; then
	sock=/tmp/frontdesk-demo-$(printf '%s' "$state" | cksum | cut -d' ' -f1).sock
fi
smtp_port=$(free_port)
from="In Touch NYC Physical Therapy <appointments@clinic.example>"
conf() {  # file role -> writes the [database] section
	printf '; written by scripts/demo.sh on each run\n[database]\nconninfo = host=%s dbname=frontdesk user=%s\n' \
		"$pgdir" "$2" >"$state/conf/$1"
}
conf owner.conf postgres
"$ctl" -c "$state/conf/owner.conf" db migrate >"$state/log/migrate.log" 2>&1 ||
	{ cat "$state/log/migrate.log"; die "db migrate failed"; }

# The login roles of sql/002_roles.sql's groups (and 007_console.sql's);
# a tree without them runs everything as the owner.
web=postgres mailer=postgres admin=postgres console=postgres
if [ -n "$(psql_owner -d frontdesk -tAc \
	"SELECT 1 FROM pg_roles WHERE rolname = 'frontdesk_web'")" ]; then
	psql_owner -d frontdesk <<'EOF'
DO $$
DECLARE
	r text[];
BEGIN
	FOREACH r SLICE 1 IN ARRAY ARRAY[['fd_web', 'frontdesk_web'],
	    ['fd_mailer', 'frontdesk_mailer'], ['fd_admin', 'frontdesk_admin'],
	    ['fd_console', 'frontdesk_console']]
	LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r[1]) AND
		    EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r[2]) THEN
			EXECUTE format('CREATE ROLE %I LOGIN IN ROLE %I', r[1], r[2]);
		END IF;
	END LOOP;
END
$$;
EOF
	web=fd_web mailer=fd_mailer admin=fd_admin
	if [ -n "$(psql_owner -d frontdesk -tAc \
		"SELECT 1 FROM pg_roles WHERE rolname = 'fd_console'")" ]; then
		console=fd_console
	fi
fi

conf web.conf "$web"
cat >>"$state/conf/web.conf" <<EOF
[fastcgi]
listen = $sock
socket_mode = 0660
threads = 4
[http]
prefix = /api
thank_you_url = /thank-you/
[smtp]
from = $from
[limits]
per_ip_per_hour = 200
EOF
conf mailer.conf "$mailer"
cat >>"$state/conf/mailer.conf" <<EOF
[smtp]
; a local test server on loopback: no TLS (never do this across a network)
url = smtp://127.0.0.1:$smtp_port
tls = off
from = $from
timeout = 10
[mail]
default_to = frontdesk@clinic.example
retry_min = 5
retry_max = 60
; every notification links to its request in the console
console_url = http://127.0.0.1:$port/console/
EOF
conf admin.conf "$admin"
cat >>"$state/conf/admin.conf" <<EOF
[smtp]
from = $from
[mail]
default_to = frontdesk@clinic.example
EOF

# ---- the clinic's locations and their front desks (kept across runs)
add_location() {  # slug name desk-address
	if ! out=$("$ctl" -c "$state/conf/admin.conf" location add "$1" \
		--name "$2" 2>&1); then
		case $out in
		*"already exists"*) ;;
		*) die "location add $1: $out" ;;
		esac
	fi
	if ! out=$("$ctl" -c "$state/conf/admin.conf" route add "$1" "$3" 2>&1); then
		case $out in
		*already*|*exists*) ;;
		*) die "route add $1: $out" ;;
		esac
	fi
}
add_location midtown "Midtown Manhattan" midtown.desk@clinic.example
add_location fidi "Financial District" fidi.desk@clinic.example
add_location woodbury "Woodbury, Long Island" woodbury.desk@clinic.example

# ---- the staff console: its own role, file and key
csock=$state/run/console.sock
if [ ${#csock} -gt 95 ]; then
	csock=/tmp/frontdesk-demo-$(printf '%s' "$state" | cksum | cut -d' ' -f1)-console.sock
fi
# The key that seals second-factor secrets in the database: a file of its
# own, never in the database (or its dumps). A new key cannot open what an
# old one sealed, so the admin then enrols again (below).
key=$state/console.key
new_key=""
if [ ! -f "$key" ]; then
	"$ctl" -c "$state/conf/admin.conf" console-key "$key" >/dev/null
	new_key=1
fi
conf console.conf "$console"
cat >>"$state/conf/console.conf" <<EOF
[console]
listen = $csock
socket_mode = 0660
threads = 2
prefix = /console
; origin is left empty: the scheme, host and port nginx passes
; (http://127.0.0.1:$port); HTTPS with a host name of its own in production
auth = local
second_factor = admins
key_file = $key
[smtp]
from = $from
EOF
"$build/frontdesk-console" -t -c "$state/conf/console.conf" >/dev/null

# One account per location and an admin, kept across runs. Each password
# is made by frontdeskctl (printed alone on its stdout) and lives only in
# console-accounts (0600): never on a command line or in a log.
accounts=$state/console-accounts
secret_file=$state/admin-totp-secret
listing=$("$ctl" -c "$state/conf/admin.conf" user list --json)
user_field() {  # name field -> the account's field, or nothing
	printf '%s' "$listing" | "$python" -c 'import json, sys
for u in json.load(sys.stdin):
    if u["username"] == sys.argv[1]:
        v = u[sys.argv[2]]
        print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}
stored_password() {  # name -> its password in console-accounts
	[ -f "$accounts" ] || return 0
	sed -n "s/^$1 //p" "$accounts"
}
old_umask=$(umask)
umask 077
: >"$accounts.new"
for spec in midtown:staff:midtown fidi:staff:fidi woodbury:staff:woodbury \
	admin:admin:; do
	name=${spec%%:*} rest=${spec#*:}
	role=${rest%%:*} loc=${rest#*:}
	pw=$(stored_password "$name")
	if [ -z "$(user_field "$name" username)" ]; then
		if [ -n "$loc" ]; then
			pw=$("$ctl" -c "$state/conf/admin.conf" user add "$name" \
				--role "$role" --location "$loc")
		else
			pw=$("$ctl" -c "$state/conf/admin.conf" user add "$name" \
				--role "$role")
		fi
		say "made the console account $name ($role${loc:+, $loc})"
	elif [ -z "$pw" ]; then
		pw=$("$ctl" -c "$state/conf/admin.conf" user passwd "$name")
		say "gave the console account $name a new password"
	fi
	[ -n "$pw" ] || die "no password for the console account $name"
	printf '%s %s\n' "$name" "$pw" >>"$accounts.new"
done
mv "$accounts.new" "$accounts"
chmod 0600 "$accounts"
umask "$old_umask"
# The admin's second factor: enrolled through the console once it runs
# (below); again when its secret or the key that sealed it is gone.
listing=$("$ctl" -c "$state/conf/admin.conf" user list --json)
enrol_admin=""
case $(user_field admin second_factor) in
on)
	if [ -n "$new_key" ] || [ ! -s "$secret_file" ]; then
		"$ctl" -c "$state/conf/admin.conf" user reset-2fa admin >/dev/null
		enrol_admin=1
	fi
	;;
enrol) enrol_admin=1 ;;
esac
if [ -n "$enrol_admin" ]; then rm -f "$secret_file"; fi

# ---- the form, with the locations written in
rm -rf "$state/www"
mkdir -p "$state/www"
cp -R "$top/www/." "$state/www/"
rm -f "$state/www/index.html.in"
"$ctl" -c "$state/conf/admin.conf" location list --json |
	"$python" "$top/scripts/render-form.py" -o "$state/www/index.html"

# ---- the services
maildir=$state/maildir
mkdir -p "$maildir/tmp" "$maildir/new" "$maildir/cur"
# Each service in a session of its own (setsid): Ctrl-C reaches this script
# alone, which then stops them in order (nginx first, so nothing new comes
# in while frontdesk finishes what it holds).
setsid "$python" -m aiosmtpd -n -l "127.0.0.1:$smtp_port" \
	-c aiosmtpd.handlers.Mailbox "$maildir" >>"$state/log/smtp.log" 2>&1 &
smtp_pid=$!
echo "$smtp_pid" >"$state/run/demo.pids"
wait_until "the SMTP server" 15 port_open "$smtp_port"

rm -f "$sock"
setsid "$build/frontdesk" -c "$state/conf/web.conf" \
	>>"$state/log/frontdesk.log" 2>&1 </dev/null &
frontdesk_pid=$!
echo "$frontdesk_pid" >>"$state/run/demo.pids"
wait_until "frontdesk's socket" 15 test -S "$sock"

rm -f "$csock"
setsid "$build/frontdesk-console" -c "$state/conf/console.conf" \
	>>"$state/log/console.log" 2>&1 </dev/null &
console_pid=$!
echo "$console_pid" >>"$state/run/demo.pids"
wait_until "the console's socket" 15 test -S "$csock"

setsid "$build/frontdesk-mailer" -c "$state/conf/mailer.conf" \
	>>"$state/log/mailer.log" 2>&1 </dev/null &
mailer_pid=$!
echo "$mailer_pid" >>"$state/run/demo.pids"

cp /etc/nginx/fastcgi_params "$state/nginx/"
sed "s|unix:/run/frontdesk/fcgi.sock|unix:$sock|" \
	"$top/conf/nginx/frontdesk.conf" >"$state/nginx/frontdesk.conf"
# The console: its pages (www/console/, copied into the site above) under
# /console/ and its API on its own socket, with the shipped file.
sed "s|unix:/run/frontdesk/console.sock|unix:$csock|" \
	"$top/conf/nginx/console.conf" >"$state/nginx/console.conf"
# As root, nginx's workers run as root too: the demo's folders may be
# closed to www-data (a checkout under /root). It listens on loopback only.
user=""
[ "$(id -u)" != 0 ] || user="user root;"
cat >"$state/nginx/nginx.conf" <<EOF
# written by scripts/demo.sh on each run
$user
daemon off;
worker_processes 1;
pid $state/run/nginx.pid;
error_log $state/log/nginx-error.log warn;
events { worker_connections 256; }
http {
	include /etc/nginx/mime.types;
	access_log $state/log/nginx-access.log;
	client_body_temp_path $state/nginx/client_body;
	fastcgi_temp_path $state/nginx/fastcgi_temp;
	proxy_temp_path $state/nginx/proxy_temp;
	uwsgi_temp_path $state/nginx/uwsgi_temp;
	scgi_temp_path $state/nginx/scgi_temp;
	server {
		listen 127.0.0.1:$port;
		server_name localhost;
		root $state/www;
		index index.html;
		include $state/nginx/frontdesk.conf;
		include $top/conf/nginx/thank-you.conf;
		include $top/conf/nginx/form.conf;
		include $state/nginx/console.conf;
	}
}
EOF
rm -f "$state/run/nginx.pid"
setsid nginx -p "$state/nginx" -c "$state/nginx/nginx.conf" \
	-e "$state/log/nginx-error.log" >>"$state/log/nginx.log" 2>&1 </dev/null &
nginx_pid=$!
echo "$nginx_pid" >>"$state/run/demo.pids"
wait_until "nginx on 127.0.0.1:$port" 15 port_open "$port"
wait_until "frontdesk's health check" 15 \
	curl -fsS -o /dev/null "http://127.0.0.1:$port/api/healthz"
# The console answers through nginx: 401 to a caller with no session.
console_up() {
	[ "$(curl -sS -o /dev/null -w '%{http_code}' \
		"http://127.0.0.1:$port/console/api/me")" = 401 ]
}
wait_until "the console's API" 15 console_up

if [ -n "$enrol_admin" ]; then
	"$python" "$top/scripts/demo-console.py" enrol "$port" "$accounts" \
		"$secret_file"
fi
[ -s "$secret_file" ] || die "the admin's second factor is not enrolled"
secret=$(cat "$secret_file")
# A few requests to work on, the first time (they go through the form's
# API, so each one's email, with its console link, lands in the maildir).
if [ "$(psql_owner -d frontdesk -tAc \
	"SELECT count(*) FROM appointment_requests")" = 0 ]; then
	"$python" "$top/scripts/demo-console.py" seed "$port"
fi

cat <<EOF

  frontdesk is running.

  Open the form:     http://127.0.0.1:$port/
  Open the console:  http://127.0.0.1:$port/console/
                     (on a remote machine: ssh -L $port:127.0.0.1:$port HOST)
  Console accounts (kept in $accounts, mode 0600):
EOF
while read -r name pw; do
	case $name in
	admin) what="admin, all locations" ;;
	*) what="staff, $name only" ;;
	esac
	printf '    %-9s %-22s  password %s\n' "$name" "$what" "$pw"
done <"$accounts"
cat <<EOF
  The admin's second factor (TOTP; add it to an authenticator app too):
    secret        $secret   (kept in $secret_file)
    current code  oathtool --totp -b $secret
                  (a code signs in once: the next one comes within 30 s)
  Mail lands in:     $maildir/new/   (one file per email,
                     each linking to its request in the console)
  Logs:              $state/log/
  Admin CLI:         $ctl -c $state/conf/admin.conf request list

  Press Ctrl-C to stop everything.

EOF

# Until Ctrl-C, or until a service dies.
while :; do
	for p in "nginx:$nginx_pid" "frontdesk:$frontdesk_pid" \
		"frontdesk-console:$console_pid" "frontdesk-mailer:$mailer_pid" \
		"smtp:$smtp_pid"; do
		if ! kill -0 "${p#*:}" 2>/dev/null; then
			say "${p%%:*} stopped unexpectedly; see $state/log/"
			exit 1
		fi
	done
	sleep 1
done
