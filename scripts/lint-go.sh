#!/usr/bin/env bash
# `npm run lint:go`: the toolchain's Go sources gofmt-clean and `go vet`-clean. The plugins' main
# packages embed the schema the toolchain build generates, so they are vetted only once it exists.
set -uo pipefail
cd "$(dirname "$0")/../toolchain"
status=0
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "lint:go: not gofmt-formatted (run gofmt -w toolchain):" >&2
  echo "$unformatted" >&2
  status=1
fi
# The toolchain build's settings, so what vet compiles is the build's cache, not a second copy.
export CGO_ENABLED=0
for mod in command docker random docker/shim random/shim; do
  packages=(./...)
  if [[ "$mod" =~ ^(docker|random)$ ]] && [ ! -f "$mod/cmd/pulumi-resource-$mod/schema.json" ]; then
    packages=(. "./cmd/pulumi-tfgen-$mod")
  fi
  (cd "$mod" && go vet -trimpath -tags no_compose "${packages[@]}") ||
    { echo "lint:go: go vet failed in toolchain/$mod" >&2; status=1; }
done
exit $status
