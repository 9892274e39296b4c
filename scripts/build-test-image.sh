#!/usr/bin/env bash
# Builds the busybox test image as an OCI image-layout archive, offline and without Docker,
# from the host's busybox-static. Every timestamp, owner and ordering is fixed, so the same
# busybox binary always yields the same digests.
# Usage: scripts/build-test-image.sh [OUTPUT.tar]   (default test/.cache/busybox-oci.tar)
set -euo pipefail
umask 022
cd "$(dirname "$0")/.."
out=${1:-test/.cache/busybox-oci.tar}
busybox=/bin/busybox
image_name=docker.io/library/busybox:latest

[[ -x $busybox ]] || { echo "build-test-image: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs layout=$work/layout
mkdir -p "$rootfs"/{bin,etc,tmp,var/www,root} "$layout/blobs/sha256"
install -m 0755 "$busybox" "$rootfs/bin/busybox"
while read -r applet; do
  [[ $applet == bin/busybox ]] && continue
  mkdir -p "$rootfs/$(dirname "$applet")"
  ln -sf /bin/busybox "$rootfs/$applet"
done < <("$busybox" --list-full)
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
chmod 0755 "$rootfs/var/www" "$rootfs/etc" "$rootfs/root"

# reproducible tar: sorted names, epoch mtimes, numeric root ownership, no atime/ctime
repro_tar() { tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu "$@"; }
digest_of() { sha256sum "$1" | cut -d' ' -f1; }
# stores FILE as a blob and prints its digest
add_blob() { local d; d=$(digest_of "$1"); mv "$1" "$layout/blobs/sha256/$d"; echo "$d"; }

repro_tar -C "$rootfs" -cf "$work/layer.tar" .
diff_id=$(digest_of "$work/layer.tar")
gzip -n -9 "$work/layer.tar"
layer_size=$(stat -c %s "$work/layer.tar.gz")
layer_digest=$(add_blob "$work/layer.tar.gz")

cat >"$work/config.json" <<EOF
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"ExposedPorts":{"80/tcp":{}}},"rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"scripts/build-test-image.sh"}]}
EOF
config_size=$(stat -c %s "$work/config.json")
config_digest=$(add_blob "$work/config.json")

cat >"$work/manifest.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$config_digest","size":$config_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:$layer_digest","size":$layer_size}]}
EOF
manifest_size=$(stat -c %s "$work/manifest.json")
manifest_digest=$(add_blob "$work/manifest.json")

cat >"$layout/index.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$manifest_digest","size":$manifest_size,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"$image_name","org.opencontainers.image.ref.name":"latest"}}]}
EOF
echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"

mkdir -p "$(dirname "$out")"
repro_tar -C "$layout" -cf "$out.$$.partial" oci-layout index.json blobs
mv "$out.$$.partial" "$out"
echo "$out (manifest sha256:$manifest_digest)"
