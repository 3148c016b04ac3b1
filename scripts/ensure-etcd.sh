#!/usr/bin/env bash
# The etcd tests need a real etcd server. Install Debian's etcd-server when it is missing.
set -euo pipefail
if command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ]; then exit 0; fi
echo "ensure-etcd: etcd not found, installing Debian's etcd-server" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends etcd-server >/dev/null
# Debian starts the packaged service; the tests run their own servers on ephemeral ports.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl stop etcd >/dev/null 2>&1 || true; fi
command -v etcd >/dev/null 2>&1
