#!/usr/bin/env bash
# Everything `npm test` and `npm run up` need on a Debian or Ubuntu machine, installed and started
# by one idempotent script: Debian packages, the Docker engine and the base image (the Pulumi
# toolchain is scripts/pulumi-toolchain.sh's; test.sh and `npm run up` call it). Each step prints
# one line: what it did and how long it took; a step that is already done costs well under a second.
#
#   scripts/setup.sh test          what the test tiers need (unit, app, e2e)
#   scripts/setup.sh up            what `npm run up` needs; prints `baseImage=<image>` on stdout
#   scripts/setup.sh --dry-run …   say what would be installed or started, change nothing
#
# Not root, or not Debian/Ubuntu, with something missing: one message listing what to install,
# exit 1, before any test runs. HA_STACK_OS_RELEASE names the os-release file (tests use it).
set -uo pipefail
cd "$(dirname "$0")/.."

dry_run=false
purpose=test
for arg in "$@"; do
  if [ "$arg" = --dry-run ]; then dry_run=true; else purpose="$arg"; fi
done

case "$purpose" in
  # unit: pgpool2, nginx-light and postgresql check the rendered configs with the real binaries;
  # app: PostgreSQL's server binaries; e2e: Docker, debootstrap for the base image, chromium.
  test)
    packages=(docker.io debootstrap postgresql pgpool2 nginx-light chromium fonts-dejavu-core
      ca-certificates iproute2 procps)
    ;;
  up) packages=(docker.io debootstrap ca-certificates) ;;
  *)
    echo "setup: purpose is \"$purpose\"; allowed: test, up" >&2
    exit 2
    ;;
esac

now() { date +%s.%N; }
# step_done START TEXT: the one line a step prints, with its duration.
step_done() { awk -v s="$1" -v e="$(now)" -v m="$2" 'BEGIN { printf "setup: %s (%.2f s)\n", m, e - s }' >&2; }

t=$(now)
installed=" $(dpkg-query -W -f='${db:Status-Abbrev}${Package} ' "${packages[@]}" 2>/dev/null) "
missing=()
for p in "${packages[@]}"; do
  [[ "$installed" == *" ii $p "* ]] || missing+=("$p")
done
# Debian trixie split the Docker CLI out of docker.io.
if ! command -v docker >/dev/null 2>&1 && [[ ! " ${missing[*]} " == *" docker.io "* ]]; then
  missing+=(docker-cli)
fi

os_release="${HA_STACK_OS_RELEASE:-/etc/os-release}"
os_id=$( (. "$os_release" 2>/dev/null && echo "${ID:-} ${ID_LIKE:-}") || true)
if [ ${#missing[@]} -gt 0 ] && { [ "$(id -u)" -ne 0 ] || [[ ! " $os_id " =~ [[:space:]](debian|ubuntu)[[:space:]] ]]; }; then
  cat >&2 <<MSG
setup: missing Debian packages: ${missing[*]}
setup: this script installs them only as root on Debian or Ubuntu (here: uid $(id -u), os "${os_id% }").
setup: install them (or your system's equivalents: Docker Engine, debootstrap, PostgreSQL server,
setup: pgpool-II, nginx, Chromium), start the Docker daemon, and run the command again.
MSG
  exit 1
fi

if [ ${#missing[@]} -eq 0 ]; then
  step_done "$t" "packages: all ${#packages[@]} present"
elif $dry_run; then
  echo "setup: would install: ${missing[*]}" >&2
else
  # A PostgreSQL package must not create and start a cluster of its own: the tests start theirs.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/ha-stack.conf
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get update -qq >/tmp/ha-stack-apt.log 2>&1 ||
    ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >>/tmp/ha-stack-apt.log 2>&1; then
    tail -n 20 /tmp/ha-stack-apt.log >&2
    echo "setup: apt-get could not install: ${missing[*]} (log: /tmp/ha-stack-apt.log)" >&2
    exit 1
  fi
  step_done "$t" "packages: installed ${missing[*]}"
fi

t=$(now)
if docker info >/dev/null 2>&1; then
  step_done "$t" "Docker engine: running"
elif $dry_run; then
  echo "setup: would start dockerd" >&2
else
  bash scripts/docker-up.sh || exit 1
  step_done "$t" "Docker engine: started dockerd"
fi

# The base image every ha-stack image builds FROM. Tests always use the local one (no pulls in a
# test run); `up` uses Docker Hub's debian:trixie-slim when it can be had, else the local one.
t=$(now)
local_base="${BASE_IMAGE:-ha-stack-base:trixie}"
base=""
if [ "$purpose" = up ]; then
  if docker image inspect debian:trixie-slim >/dev/null 2>&1 ||
    (! $dry_run && timeout 60 docker pull -q debian:trixie-slim >/dev/null 2>&1); then
    base=debian:trixie-slim
    step_done "$t" "base image: $base"
  fi
fi
if [ -z "$base" ]; then
  if docker image inspect "$local_base" >/dev/null 2>&1; then
    step_done "$t" "base image: $local_base present"
  elif $dry_run; then
    echo "setup: would make the base image $local_base (debootstrap, about 2 minutes)" >&2
  else
    bash scripts/base-image.sh "$local_base" >/dev/null || exit 1
    step_done "$t" "base image: made $local_base with debootstrap"
  fi
  base="$local_base"
fi

if [ "$purpose" = up ]; then
  echo "baseImage=$base"
fi
