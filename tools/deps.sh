#!/bin/sh
# Installs the Debian packages named on the command line that are missing
# (DESIGN §9): with apt-get when running as root, else stops with the exact
# command to run. Prints nothing when every package is there.
set -u
missing=""
for p in "$@"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "annals: missing Debian packages; run:" >&2
	echo "  sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "annals: installing missing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends $missing >&2 ||
	{ apt-get update >&2 && apt-get install -y --no-install-recommends $missing >&2; } ||
	{ echo "annals: apt-get install -y$missing failed" >&2; exit 1; }
