#!/usr/bin/env bash
# Make the local base image that every ha-stack image builds FROM, for machines that cannot
# pull from a registry: debootstrap a minimal Debian trixie, add this machine's CA bundle (so
# apt-get and npm inside image builds trust the same TLS-intercepting proxy as the host), and
# `docker import` it. Prints the image name. Idempotent: quick when the image already exists.
# Users with Docker Hub never need this: the default baseImage is debian:trixie-slim.
#
#   scripts/base-image.sh [IMAGE]        default IMAGE: ha-stack-base:trixie
#   scripts/base-image.sh --mirror       print the mirror it would use (empty: debootstrap's own)
#
# The mirror: $MIRROR if set, else the Debian archive this host's apt already uses (the first
# `URIs:` of /etc/apt/sources.list.d/*.sources, else the first `deb` line of
# /etc/apt/sources.list; security archives skipped), else none, and debootstrap uses its own
# default. debootstrap writes the image's sources.list for the mirror it used.
set -euo pipefail

# Prints this host's Debian mirror, or nothing. APT_SOURCES_DIR/APT_SOURCES_LIST: for tests.
host_mirror() {
  local dir="${APT_SOURCES_DIR:-/etc/apt/sources.list.d}"
  local list="${APT_SOURCES_LIST:-/etc/apt/sources.list}"
  {
    cat "$dir"/*.sources 2>/dev/null | awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }'
    cat "$list" "$dir"/*.list 2>/dev/null |
      awk '$1 == "deb" { sub(/\[[^]]*\]/, ""); if ($2 != "") print $2 }'
  } | grep -E '^(https?|file)://' | grep -v -- '-security' | head -n 1 || true
}

if [ "${1:-}" = "--mirror" ]; then
  echo "${MIRROR:-$(host_mirror)}"
  exit 0
fi

image="${1:-ha-stack-base:trixie}"
suite="${SUITE:-trixie}"
mirror="${MIRROR:-$(host_mirror)}"
ca_bundle="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image"
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

rootfs="$(mktemp -d /tmp/ha-stack-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT

echo "base-image: debootstrap $suite (minbase) from ${mirror:-debootstrap's default mirror}" >&2
debootstrap --variant=minbase "$suite" "$rootfs" ${mirror:+"$mirror"} >/tmp/ha-stack-debootstrap.log 2>&1 || {
  tail -n 30 /tmp/ha-stack-debootstrap.log >&2
  exit 1
}

# Trust what the host trusts. The bundle goes to both places: /etc/ssl/certs for tools run
# before the ca-certificates package exists, and /usr/local/share/ca-certificates so that
# update-ca-certificates (run when an image installs ca-certificates) keeps it.
if [ -f "$ca_bundle" ]; then
  mkdir -p "$rootfs/etc/ssl/certs" "$rootfs/usr/local/share/ca-certificates"
  cp "$ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  cp "$ca_bundle" "$rootfs/usr/local/share/ca-certificates/ha-stack-host-bundle.crt"
fi

# Slim it the way debian:*-slim is slimmed: no apt lists, no docs.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/usr/share/doc/* \
  "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
rm -f "$rootfs/etc/apt/sources.list.d/"*

echo "base-image: importing as $image" >&2
tar -C "$rootfs" -c . | docker import \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["bash"]' \
  - "$image" >/dev/null
echo "$image"
