#!/usr/bin/env bash
# Installs the host packages tsnerd and its tests need (Debian, as root). Idempotent.
set -euo pipefail
pkgs=(containerd runc containernetworking-plugins iptables iproute2 busybox-static docker-registry skopeo
      etcd-server etcd-client
      golang-github-containerd-containerd-dev
      kmod procps util-linux perl-base ca-certificates curl shellcheck
      aardvark-dns dnsperf)
# npm only bootstraps `npm ci`, which brings the pinned Node that tsnerd runs on; a Node
# from elsewhere (e.g. NodeSource) already ships npm and would conflict with Debian's.
command -v npm >/dev/null || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts the packaged services; tsnerd's tests use their own private instances.
for svc in docker-registry etcd; do
  systemctl disable --now "$svc" >/dev/null 2>&1 || service "$svc" stop >/dev/null 2>&1 || true
done
modprobe overlay 2>/dev/null || true
modprobe br_netfilter 2>/dev/null || true
modprobe vxlan 2>/dev/null || true
sysctl -qw net.ipv4.ip_forward=1 || true
