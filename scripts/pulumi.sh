#!/usr/bin/env bash
# `npm run pulumi -- ARGS`: the Pulumi CLI with this project's settings, for the commands
# `npm run up` does not wrap (config set, stack output, stack history, refresh, …):
#   npm run pulumi -- config set replicas 5
#   npm run pulumi -- stack output --show-secrets
# State is the project's .pulumi-state/ (PULUMI_BACKEND_URL overrides it); the CLI is `pulumi` on
# PATH, else the toolchain scripts/pulumi-toolchain.sh builds. Before any stack exists, `dev` is
# created and selected. `pulumi up` itself needs Pulumi's Node.js language host, which the
# standard install has and the toolchain does not: use `npm run up` there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pulumi >/dev/null 2>&1; then
  dir=$(bash scripts/pulumi-toolchain.sh) || exit 1
  export PATH="$dir/bin:$PATH" PULUMI_HOME="$dir" PULUMI_SKIP_UPDATE_CHECK=true \
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true PULUMI_IGNORE_AMBIENT_PLUGINS=true
fi
mkdir -p .pulumi-state
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.pulumi-state}"
if [ -z "${PULUMI_CONFIG_PASSPHRASE+set}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  export PULUMI_CONFIG_PASSPHRASE="" # as `npm run up`: set it for anything you care about
fi
if ! pulumi stack --show-name >/dev/null 2>&1; then
  pulumi stack select --create "${STACK:-dev}" >&2
fi
exec pulumi "$@"
