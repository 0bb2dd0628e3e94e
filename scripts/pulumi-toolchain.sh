#!/usr/bin/env bash
# The Pulumi CLI and the docker, random and command provider plugins, built from Go modules for
# machines that cannot download them (issue #19; README "The real Pulumi engine"):
#   cli      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi at the @pulumi/pulumi version
#   docker   kreuzwerker's Terraform Docker provider through pulumi-terraform-bridge (toolchain/docker)
#   random   hashicorp/random through the bridge's plugin-framework packages (toolchain/random)
#   command  the project's own command:local:Command provider (toolchain/command)
#
#   scripts/pulumi-toolchain.sh          build what is missing; prints the toolchain directory
#   scripts/pulumi-toolchain.sh --print  print the toolchain directory and exit
#
# The toolchain directory holds bin/pulumi and plugins/resource-<name>-v<version>/: use it as
# PULUMI_HOME. Versions: the CLI's and each plugin's come from package-lock.json (the plugin
# directory the SDK asks for is exactly its npm version); every Go module's from toolchain/*/go.mod.
# The directory's name is a digest of those versions and of toolchain/'s sources, so a second run
# with nothing changed takes a moment. Progress: one line per step on stderr, with its time.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

lock_version() {
  node -e 'const p = require("./package-lock.json").packages["node_modules/" + process.argv[1]];
    if (!p) process.exit(1); console.log(p.version);' "$1" ||
    { echo "toolchain: $1 is not in package-lock.json" >&2; exit 2; }
}
pulumi_v=$(lock_version @pulumi/pulumi) || exit 2
declare -A plugin_v=(
  [docker]=$(lock_version @pulumi/docker) [random]=$(lock_version @pulumi/random)
  [command]=$(lock_version @pulumi/command)
)
for name in docker random command; do [ -n "${plugin_v[$name]}" ] || exit 2; done

# Every input of the build: versions, sources, and this script.
key=$( {
  echo "pulumi $pulumi_v docker ${plugin_v[docker]} random ${plugin_v[random]} command ${plugin_v[command]}"
  find toolchain -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) | LC_ALL=C sort |
    xargs sha256sum
  sha256sum scripts/pulumi-toolchain.sh
} | sha256sum | cut -c1-12)
dir="${HA_STACK_CACHE:-$HOME/.cache/ha-stack}/toolchain-$key"
if [ "${1:-}" = --print ]; then
  echo "$dir"
  exit 0
fi

now() { date +%s.%N; }
# step_done START TEXT: the one line a step prints, with its duration.
step_done() { awk -v s="$1" -v e="$(now)" -v m="$2" 'BEGIN { printf "toolchain: %s (%.1f s)\n", m, e - s }' >&2; }
fail() {
  echo "toolchain: $*" >&2
  exit 1
}

installed() {
  [ -x "$dir/bin/pulumi" ] || return 1
  for name in docker random command; do
    [ -x "$dir/plugins/resource-$name-v${plugin_v[$name]}/pulumi-resource-$name" ] || return 1
  done
}
if installed; then
  # Its time of last use, for the clean-up below.
  touch "$dir"
  step_done "$(now)" "cached in $dir"
  echo "$dir"
  exit 0
fi

command -v go >/dev/null 2>&1 ||
  fail "Go is not installed; the CLI and plugins are built from Go modules (Go >= 1.25: apt-get install golang-go, or go.dev/dl)"
mkdir -p "$dir/bin" "$dir/plugins" || fail "cannot create $dir"
# A concurrent run (two test workers, say) waits for this one instead of building twice.
exec 9>"$dir.lock"
flock 9
if installed; then
  echo "$dir"
  exit 0
fi

echo "toolchain: building the Pulumi CLI and the docker, random and command plugins from Go modules into $dir (once: about 11 min on 2 cores with empty Go caches, BENCHMARKS.md)" >&2
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}"
flags=(-trimpath)
log="${TMPDIR:-/tmp}/ha-stack-toolchain.log"
: >"$log"

# 1. Resolve every module of every build list on the proxy before building anything, so a refused
# module stops the run at once with its name, version and the proxy's answer.
t=$(now)
for mod in cli docker docker/shim random random/shim command; do
  if ! out=$(cd "toolchain/$mod" && go mod download -x 2>&1 >/dev/null); then
    echo "$out" >>"$log"
    grep -E 'go: |reading |: 40[0-9]|not available' <<<"$out" | grep -v '^# get' | tail -n 5 >&2
    fail "toolchain/$mod: a module could not be downloaded from $(go env GOPROXY | cut -d, -f1) (above; whole output in $log). Nothing was built."
  fi
done
step_done "$t" "every module resolved on $(go env GOPROXY | cut -d, -f1)"

# build MODULE OUT PACKAGE LDFLAGS: one release build, its output in $dir. The docker provider's
# compose resources (a large dependency tree) are left out with its no_compose tag.
build() {
  local mod="$1" out="$2" pkg="$3" ldflags="$4" t
  t=$(now)
  (cd "toolchain/$mod" && nice go build "${flags[@]}" -ldflags "-s -w $ldflags" \
    -tags "$([ "$mod" = docker ] && echo no_compose)" -o "$out.partial" "$pkg") >>"$log" 2>&1 || {
    tail -n 30 "$log" >&2
    fail "go build of $pkg in toolchain/$mod failed (log: $log)"
  }
  mv -f "$out.partial" "$out"
  step_done "$t" "built $(basename "$out") ($(du -m "$out" | cut -f1) MB)"
}

# install NAME BINARY: the plugin directory the CLI looks up, at exactly the SDK's version.
install_plugin() {
  local name="$1" bin="$2" target="$dir/plugins/resource-$1-v${plugin_v[$1]}"
  rm -rf "$target" && mkdir -p "$target" && mv "$bin" "$target/pulumi-resource-$name" ||
    fail "cannot install $bin into $target"
}

# 2. The CLI.
build cli "$dir/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
  "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$pulumi_v"

# 3. The bridged plugins: tfgen writes the schema and bridge metadata, the plugin embeds them.
for name in docker random; do
  version="-X ha-stack/toolchain/$name.Version=${plugin_v[$name]}"
  build "$name" "$dir/pulumi-tfgen-$name" "./cmd/pulumi-tfgen-$name" "$version"
  t=$(now)
  gen="$dir/gen-$name"
  "$dir/pulumi-tfgen-$name" schema --out "$gen" --skip-docs --skip-examples >>"$log" 2>&1 ||
    fail "pulumi-tfgen-$name schema failed (log: $log)"
  # The schema carries the plugin's version, as the released plugins' do.
  node -e 'const fs = require("fs"); const s = JSON.parse(fs.readFileSync(process.argv[1]));
    s.version = process.argv[2]; fs.writeFileSync(process.argv[1], JSON.stringify(s, null, 2));' \
    "$gen/schema.json" "${plugin_v[$name]}" || fail "cannot set the version in $gen/schema.json"
  step_done "$t" "generated the $name schema ($(node -e 'const s = require(process.argv[1]);
    console.log(Object.keys(s.resources).length + " resources, " + Object.keys(s.functions ?? {}).length + " functions")' \
    "$gen/schema.json"))"
  # The plugin embeds both (go:embed in its main package); the schema stays for the SDK check.
  cp "$gen/schema.json" "$gen/bridge-metadata.json" "toolchain/$name/cmd/pulumi-resource-$name/" &&
    mv "$gen/schema.json" "$dir/schema-$name.json" && rm -rf "$gen" ||
    fail "cannot move the $name schema into toolchain/$name/cmd/pulumi-resource-$name"
  build "$name" "$dir/pulumi-resource-$name" "./cmd/pulumi-resource-$name" "$version"
  install_plugin "$name" "$dir/pulumi-resource-$name"
  rm -f "$dir/pulumi-tfgen-$name"
done

# 4. The command provider.
build command "$dir/pulumi-resource-command" ./cmd/pulumi-resource-command \
  "-X ha-stack/toolchain/command.Version=${plugin_v[command]}"
install_plugin command "$dir/pulumi-resource-command"

installed || fail "the build ended without every binary in $dir"
# Earlier builds (other versions or sources) are 400 MB each; the Go caches keep what a rebuild
# needs. Only those unused for a day go: another checkout (a branch with other toolchain sources)
# may be running a stack with its build right now.
while IFS= read -r old; do
  if [ "$old" != "$dir" ]; then
    rm -rf "$old" "$old.lock" && echo "toolchain: removed the earlier build $old (unused for a day)" >&2
  fi
done < <(find "$(dirname "$dir")" -maxdepth 1 -type d -name 'toolchain-*' -mmin +1440)
echo "toolchain: ready in $dir: pulumi $("$dir/bin/pulumi" version), docker ${plugin_v[docker]}, random ${plugin_v[random]}, command ${plugin_v[command]}" >&2
echo "$dir"
