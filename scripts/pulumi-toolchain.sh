#!/usr/bin/env bash
# The Pulumi CLI, its Node.js language host and the docker, random and command provider plugins,
# from published Go modules (issue #10). Step 1, and the only one written so far: resolve every
# module and version on the Go module proxy (`go list -m -json`) before anything is built, and stop
# with the module, the version and the proxy's exact answer when one is refused.
#
#   scripts/pulumi-toolchain.sh            resolve; exits 3 (and says what) when a module is refused
#   scripts/pulumi-toolchain.sh --print    print the cache directory (bin/pulumi, plugins/) and exit
#
# Versions come from package-lock.json, so the plugins match the npm packages exactly. Where a
# release commit is needed (untagged modules are served only as pseudo-versions of a commit), it is
# read from the proxy's `Origin.Hash` for a tagged module of the same release.
#
# On 2026-11-30 the proxy these machines reach refused every version of the language host and of
# the three provider modules ("This module version is not available."), so the build step is not
# written: it could not be run or tested here. README "The real Pulumi engine" has the table.
set -uo pipefail
cd "$(dirname "$0")/.."

lock_version() {
  node -e 'const l = require("./package-lock.json"); const p = l.packages["node_modules/" + process.argv[1]];
    if (!p) { process.exit(1); } console.log(p.version);' "$1"
}

pulumi_v=$(lock_version @pulumi/pulumi) || { echo "toolchain: @pulumi/pulumi is not in package-lock.json" >&2; exit 2; }
docker_v=$(lock_version @pulumi/docker) || { echo "toolchain: @pulumi/docker is not in package-lock.json" >&2; exit 2; }
random_v=$(lock_version @pulumi/random) || { echo "toolchain: @pulumi/random is not in package-lock.json" >&2; exit 2; }
command_v=$(lock_version @pulumi/command) || { echo "toolchain: @pulumi/command is not in package-lock.json" >&2; exit 2; }

cache="${HA_STACK_CACHE:-$HOME/.cache/ha-stack}/pulumi-${pulumi_v}-docker${docker_v}-random${random_v}-command${command_v}"
if [ "${1:-}" = "--print" ]; then
  echo "$cache"
  exit 0
fi
if [ -x "$cache/bin/pulumi" ]; then
  echo "$cache"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "toolchain: Go is not installed; the Pulumi CLI and plugins are built from Go modules (apt-get install golang-go, Go ≥ 1.25)" >&2
  exit 2
fi

# A throwaway main module: `go list -m` needs one, and it keeps the project's tree clean.
work=$(mktemp -d /tmp/ha-stack-toolchain.XXXXXX)
trap 'rm -rf "$work"' EXIT
printf 'module ha-stack/toolchain\n\ngo 1.25\n' >"$work/go.mod"

refused=0
log=/tmp/ha-stack-toolchain.log
: >"$log"
# answer GO_OUTPUT: the proxy's status and words, without go's restatement of the request.
answer() {
  local status words
  status=$(grep -oE '[0-9]{3} [A-Z][A-Za-z ]+' <<<"$1" | head -n 1)
  words=$(sed -n 's/^[[:space:]]*server response: //p' <<<"$1" | head -n 1)
  if [ -n "$status$words" ]; then echo "${status:-?}: ${words:-?}"; else tail -n 1 <<<"$1"; fi
}
# resolve LABEL MODULE QUERY: prints one row; echoes the release commit on fd 3 when the proxy names it.
resolve() {
  local label="$1" module="$2" query="$3" out
  if out=$(cd "$work" && timeout 120 go list -m -json "$module@$query" 2>&1); then
    local version hash
    version=$(node -e 'console.log(JSON.parse(process.argv[1]).Version)' "$out")
    hash=$(node -e 'const m = JSON.parse(process.argv[1]); console.log(m.Origin?.Hash ?? "")' "$out")
    printf 'toolchain: %-9s %s@%s → %s %s\n' "$label" "$module" "$query" "$version" "${hash:0:12}" >&2
    printf '%s' "$hash" >&3
  else
    refused=1
    echo "$out" >>"$log"
    printf 'toolchain: %-9s %s@%s REFUSED: %s\n' "$label" "$module" "$query" "$(answer "$out")" >&2
    # Is it this version, or the whole module? A release of the same piece may still be served.
    if ! out=$(cd "$work" && timeout 120 go list -m -versions "$module" 2>&1); then
      printf 'toolchain: %-9s %s: no version at all is served (%s)\n' "$label" "$module" "$(answer "$out")" >&2
    else
      printf 'toolchain: %-9s %s: served versions: %s\n' "$label" "$module" "$(echo "$out" | cut -d' ' -f2-)" >&2
    fi
  fi
}
# commit_of LABEL MODULE TAG: the release commit of a tagged module, or empty.
commit_of() { resolve "$@" 3>&1 >/dev/null; }

started=$(date +%s)
echo "toolchain: resolving on $(go env GOPROXY | cut -d, -f1) for @pulumi/pulumi $pulumi_v, docker $docker_v, random $random_v, command $command_v" >&2

# The CLI and its language host: one pulumi/pulumi release. The language host has no tags of its
# own; the proxy serves it, if at all, as a pseudo-version of the pkg/v3 tag's commit.
cli_commit=$(commit_of cli github.com/pulumi/pulumi/pkg/v3 "v$pulumi_v")
resolve sdk github.com/pulumi/pulumi/sdk/v3 "v$pulumi_v" 3>/dev/null
resolve language github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 "${cli_commit:-v$pulumi_v}" 3>/dev/null

# Each provider: its Go SDK module is tagged at the npm version and names the release commit; the
# provider module (untagged) is then asked for at that commit.
docker_commit=$(commit_of docker-sdk github.com/pulumi/pulumi-docker/sdk/v5 "v$docker_v")
resolve docker github.com/pulumi/pulumi-docker/provider/v5 "${docker_commit:-latest}" 3>/dev/null
random_commit=$(commit_of random-sdk github.com/pulumi/pulumi-random/sdk/v4 "v$random_v")
resolve random github.com/pulumi/pulumi-random/provider/v4 "${random_commit:-latest}" 3>/dev/null
command_commit=$(commit_of cmd-sdk github.com/pulumi/pulumi-command/sdk "v$command_v")
resolve command github.com/pulumi/pulumi-command/provider "${command_commit:-latest}" 3>/dev/null

echo "toolchain: resolved in $(($(date +%s) - started)) s" >&2
if [ "$refused" -ne 0 ]; then
  cat >&2 <<'MSG'
toolchain: stopped before building: the Go module proxy refuses a module the toolchain needs (REFUSED
above; go's whole answers are in /tmp/ha-stack-toolchain.log). Nothing was built or faked. Without the real CLI and plugins, `npm run up` cannot run here;
`npm test` does not need them (see README "The real Pulumi engine").
MSG
  exit 3
fi

echo "toolchain: every module resolves, but the build step is not written yet (see the header of this script)" >&2
exit 4
