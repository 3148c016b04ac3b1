#!/usr/bin/env bash
# The tests need a real etcd server, the openssl CLI (for their self-signed CAs) and kubectl (the
# real client that checks the Kubernetes API double; Debian's kubernetes-client, any kubectl on PATH
# will do). Install whichever is missing from Debian's packages; the tests start and stop etcd.
set -euo pipefail
missing=()
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "ensure-test-tools: installing ${missing[*]} from Debian" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian may start the packaged etcd service; the tests run their own servers on ephemeral ports.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl stop etcd >/dev/null 2>&1 || true; fi
command -v etcd >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1 && command -v kubectl >/dev/null 2>&1
