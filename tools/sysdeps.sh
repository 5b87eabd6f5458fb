#!/usr/bin/env bash
# Debian packages the tests and `make run` need. Installs the missing ones when running as
# root (CI, fresh machines); otherwise names the exact command and fails.
set -eu
need=""
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
have mosquitto        || need="$need mosquitto"
have mosquitto_sub    || need="$need mosquitto-clients"
have efax             || need="$need efax"
have sendfax          || need="$need mgetty-fax"     # mgetty's sendfax drives the simulated modem
have pbmtog3          || need="$need netpbm"
have socat            || need="$need socat"
have openssl          || need="$need openssl"
have chromium         || need="$need chromium"       # the fleet page test (headless)
have npm              || need="$need npm"            # the fleet page's MQTT client (tools/fleet)
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "sysdeps: installing:$need"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $need >/dev/null
  exit 0
fi
echo "sysdeps: missing Debian packages:$need" >&2
echo "sysdeps: run:  sudo apt-get update && sudo apt-get install -y$need" >&2
exit 1
