#!/usr/bin/env bash
# Install the Debian packages Brigade needs, only when something is missing.
# Without root we only report what is missing.
set -euo pipefail

missing=()
need() { # need PACKAGE CHECK-COMMAND...
  local pkg=$1; shift
  if ! "$@" >/dev/null 2>&1; then missing+=("$pkg"); fi
}
need chromium test -x /usr/bin/chromium
need postgresql bash -c 'ls /usr/lib/postgresql/*/bin/pg_ctl'
need libpango-1.0-0 bash -c 'ldconfig -p | grep -q libpango-1.0'
need libpangoft2-1.0-0 bash -c 'ldconfig -p | grep -q libpangoft2-1.0'
need fonts-dejavu-core test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
need redis-server bash -c 'command -v redis-server || test -x /usr/bin/redis-server'
need nodejs command -v node
need npm command -v npm
need slapd test -x /usr/sbin/slapd
need ldap-utils command -v ldapadd
need openssl command -v openssl

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}" >&2
  exit 0
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
