#!/bin/sh
# Installs the Debian 12 packages Tandem needs to build, test and run.
# Idempotent: does nothing when everything is present. Run as root (or with sudo).
set -eu

PACKAGES="
  g++ cmake ninja-build pkg-config make
  liblua5.4-dev libfmt-dev nlohmann-json3-dev libcli11-dev libspeexdsp-dev
  catch2 python3
  libsofia-sip-ua-dev sip-tester
  postgresql libpq-dev
  libsndfile1-dev libspandsp-dev libopus-dev
  libsrtp2-dev baresip openssl
  clang libclang-rt-14-dev
"

# --prompt-tools adds what contrib/make-prompts.sh and contrib/make-moh.sh
# need to regenerate the shipped prompts and music on hold (they are
# committed: not needed to build, test or run).
if [ "${1:-}" = "--prompt-tools" ]; then
  PACKAGES="$PACKAGES espeak-ng sox"
fi

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
