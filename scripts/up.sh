#!/usr/bin/env bash
# `npm run up` / `npm run preview` / `npm run destroy`: the real Pulumi CLI against this
# project with a local file backend (./.pulumi-state) and the `dev` stack — no account needed.
#
#   STACK=staging npm run up      another stack on the same host (its own name prefix)
set -euo pipefail
cd "$(dirname "$0")/.."
action="${1:-up}"
stack="${STACK:-dev}"

if ! command -v pulumi >/dev/null 2>&1; then
  echo "The Pulumi CLI is not installed: see https://www.pulumi.com/docs/iac/download-install/" >&2
  echo "(npm test does not need it; it runs the program under the SDK's mock mode and a test engine.)" >&2
  exit 1
fi
if ! docker info >/dev/null 2>&1; then
  echo "No Docker engine answers; starting one (needs root)." >&2
  bash scripts/docker-up.sh
fi

mkdir -p .pulumi-state
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.pulumi-state}"
if [ -z "${PULUMI_CONFIG_PASSPHRASE+set}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  # A local dev stack: secrets in state are encrypted with an empty passphrase. Set
  # PULUMI_CONFIG_PASSPHRASE (or _FILE) for anything you care about.
  export PULUMI_CONFIG_PASSPHRASE=""
  echo "note: PULUMI_CONFIG_PASSPHRASE is empty; set it to protect the secrets in .pulumi-state" >&2
fi

pulumi stack select --create "$stack" >/dev/null
case "$action" in
  up) pulumi up --yes --stack "$stack" ;;
  preview) pulumi preview --diff --stack "$stack" ;;
  destroy) pulumi destroy --yes --stack "$stack" ;;
  *)
    echo "usage: scripts/up.sh [up|preview|destroy]" >&2
    exit 2
    ;;
esac
