#!/usr/bin/env bash
# `npm test`: set up what the tiers need (scripts/setup.sh: packages, Docker, the base image; then
# the Pulumi toolchain, scripts/pulumi-toolchain.sh, which the tests always use, whatever `pulumi`
# is on PATH), run the unit, toolchain (`go test` of the command provider), app and e2e tiers,
# and close with one line: "N passed, N failed".
#
#   npm test                 every tier
#   npm test -- unit app     only those tiers (the setup is the same)
set -uo pipefail
cd "$(dirname "$0")/.."

tiers=("$@")
[ ${#tiers[@]} -gt 0 ] || tiers=(unit toolchain app e2e)
for tier in "${tiers[@]}"; do
  case "$tier" in
    unit | toolchain | app | e2e) ;;
    *)
      echo "npm test: tier is \"$tier\"; allowed: unit, toolchain, app, e2e" >&2
      exit 2
      ;;
  esac
done

bash scripts/setup.sh test || exit 1
export BASE_IMAGE="${BASE_IMAGE:-ha-stack-base:trixie}"
# The engine the e2e tier drives and the schemas the unit tier checks (seconds when cached).
bash scripts/pulumi-toolchain.sh >/dev/null || exit 1

HEAVY_LOCK=/tmp/ha-stack-heavy.lock
mkdir -p test-artifacts
reports=()
status=0
for tier in "${tiers[@]}"; do
  printf '\n=== npm test: %s tier\n' "$tier"
  report="test-artifacts/vitest-$tier.json"
  rm -f "$report"
  if [ "$tier" = toolchain ]; then
    report="test-artifacts/go-toolchain.json"
    rm -f "$report"
    (cd toolchain/command && CGO_ENABLED=0 go test -json -count=1 ./...) |
      node scripts/go-test-report.mjs "$report" || status=1
  else
    lock=()
    if [ "$tier" = e2e ]; then
      # The e2e stacks, the swarm lab and their state directory have fixed names on this
      # machine: a second run at the same time would drive the same stacks. Wait for the first.
      # -o: flock itself holds the lock, not the tests' children (a dockerd they start outlives them).
      flock -n "$HEAVY_LOCK" true ||
        echo "npm test: another e2e run or bench holds $HEAVY_LOCK; waiting for it" >&2
      lock=(flock -o "$HEAVY_LOCK")
    fi
    "${lock[@]}" npx vitest run --project "$tier" --reporter=default --reporter=json \
      --outputFile.json="$report" || status=1
  fi
  reports+=("$report")
done

printf '\n'
node scripts/test-summary.mjs "${reports[@]}" || status=1
exit $status
