#!/bin/sh
# install-deps: installs the Debian packages in scripts/packages.txt that are
# missing (as root). The tests and the demo start their own PostgreSQL and
# web servers on free ports and sockets; the packages' services are not
# started (and prometheus's, of which only promtool is used, is disabled).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pkgs=$(grep -v '^#' "$here/packages.txt" | tr '\n' ' ')
# What installed packages provide counts too (nodesource's nodejs provides
# npm, and conflicts with Debian's).
provided=$(dpkg-query -W -f='${db:Status-Abbrev}|${Provides}\n' 2>/dev/null |
	sed -n 's/^ii *|//p' | tr ',' '\n' | sed 's/(.*//; s/ //g')
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		printf '%s\n' "$provided" | grep -qx "$p" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "install-deps: missing packages:$missing (run as root)" >&2
		exit 1
	fi
	echo "install-deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	# The packages' own services (nginx and Apache on port 80, a system
	# PostgreSQL) are not wanted, and two web servers would fight over
	# port 80: keep them from starting while installing.
	policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		trap 'rm -f "$policy"' EXIT
		# dash runs the EXIT trap on exit, not when a signal kills it:
		# turn the signals into an exit, or policy-rc.d would stay and
		# keep every service on this machine from starting later.
		trap 'exit 130' INT
		trap 'exit 143' TERM
		trap 'exit 129' HUP
	fi
	# Postfix is here for bench/bench.py's smtp-sink and smtp-source only:
	# no configuration, no mail system on this machine.
	echo "postfix postfix/main_mailer_type select No configuration" |
		debconf-set-selections
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	# The suite needs only promtool; the prometheus package also enables
	# its server (port 9090, scraping this host), which policy-rc.d only
	# keeps from starting now: disable and mask it, so no boot starts it.
	case " $missing " in
	*" prometheus "*)
		if command -v systemctl >/dev/null; then
			systemctl disable prometheus.service >/dev/null 2>&1 || true
			systemctl mask prometheus.service >/dev/null 2>&1 || true
		fi
		if [ -x /etc/init.d/prometheus ] && command -v update-rc.d \
		    >/dev/null; then
			update-rc.d prometheus disable >/dev/null 2>&1 || true
		fi
		;;
	esac
fi
# Whatever installed it, Postfix's own service stays stopped and disabled
# (policy-rc.d only keeps it from starting during the install).
if [ -x /usr/sbin/postfix ] && [ "$(id -u)" = 0 ]; then
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		systemctl disable --now postfix >/dev/null 2>&1 || true
	else
		update-rc.d postfix disable >/dev/null 2>&1 || true
		/usr/sbin/postfix status >/dev/null 2>&1 &&
			/usr/sbin/postfix stop >/dev/null 2>&1 || true
	fi
fi
