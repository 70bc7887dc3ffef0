#!/usr/bin/env bash
# Installs the Debian packages the test suite needs: chromium (browser tests through
# Playwright, launched with executable_path), postgresql and redis-server (throw-away servers started by
# test fixtures; PostgreSQL as the postgres user). Skips apt when everything is already there.
set -euo pipefail
pkgs=(chromium postgresql redis-server)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages present: ${pkgs[*]}"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "installing system packages: ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
