#!/usr/bin/env bash
# `npm run up` / `npm run preview` / `npm run destroy`: the real Pulumi CLI against this
# project with a local file backend (./.pulumi-state) and the `dev` stack — no account needed.
#
#   STACK=staging npm run up      another stack on the same host (its own name prefix)
set -euo pipefail
cd "$(dirname "$0")/.."
action="${1:-up}"
stack="${STACK:-dev}"

# Packages, Docker, the base image and the Pulumi CLI (scripts/setup.sh; each step is quick when done).
setup=$(bash scripts/setup.sh up) || exit 1
pulumi_root=$(sed -n 's/^pulumiRoot=//p' <<<"$setup")
base_image=$(sed -n 's/^baseImage=//p' <<<"$setup")
if [ -n "$pulumi_root" ]; then
  export PATH="$pulumi_root/bin:$PATH" PULUMI_HOME="${PULUMI_HOME:-$pulumi_root/home}"
fi
# The plugins are installed by the toolchain, never downloaded, and no update check runs.
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true PULUMI_SKIP_UPDATE_CHECK=true

mkdir -p .pulumi-state
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.pulumi-state}"
if [ -z "${PULUMI_CONFIG_PASSPHRASE+set}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  # A local dev stack: secrets in state are encrypted with an empty passphrase. Set
  # PULUMI_CONFIG_PASSPHRASE (or _FILE) for anything you care about.
  export PULUMI_CONFIG_PASSPHRASE=""
  echo "note: PULUMI_CONFIG_PASSPHRASE is empty; set it to protect the secrets in .pulumi-state" >&2
fi

pulumi stack select --create "$stack" >/dev/null
# Only when the stack has no baseImage of its own: Docker Hub's image if it could be had, else the
# local one the setup made.
if ! pulumi config get baseImage --stack "$stack" >/dev/null 2>&1 && [ "$base_image" != debian:trixie-slim ]; then
  pulumi config set baseImage "$base_image" --stack "$stack"
fi
case "$action" in
  up) pulumi up --yes --stack "$stack" ;;
  preview) pulumi preview --diff --stack "$stack" ;;
  destroy) pulumi destroy --yes --stack "$stack" ;;
  *)
    echo "usage: scripts/up.sh [up|preview|destroy]" >&2
    exit 2
    ;;
esac
