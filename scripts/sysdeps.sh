#!/usr/bin/env bash
# Debian packages the test suite and benchmarks need: chromium for the browser tests, wrk for the
# SMS edge benchmark (bench/sms_edge.py).
# Installed via apt when run as root and missing; otherwise we say what is missing and carry on
# (the browser tests then fail with that message, they are never skipped silently).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "missing Debian packages: ${need[*]} (run: sudo apt-get install ${need[*]})" >&2
fi
