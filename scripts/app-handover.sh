#!/usr/bin/env bash
# Run by the Pulumi program (a command.local.Command per roll batch, components/app.ts) once a
# batch of new app containers is healthy: hands the batch's replicas over from their old
# containers to the new ones, so a start-first roll never has more than `rolloutBatch` extra
# app containers running. Steps: nginx is told every healthy app container of the stack except
# the batch's old ones (and waits until it serves exactly those), then the old ones are stopped
# gracefully (SIGTERM, the app drains, STOP_SECONDS before SIGKILL). Pulumi deletes the stopped
# containers at the end of the update. Nothing to hand over (a first up, a scale-out): no-op.
#
# Environment: STACK (the ha-stack.stack label), NODES (the batch's replicas, "app-1 app-2"),
# KEEP (the batch's new container names), NGINX (nginx's container name), UPSTREAM_SUFFIX
# (what follows the host in an upstreams line: "3000 max_fails=1 fail_timeout=2s"),
# STOP_SECONDS (default 15).
set -euo pipefail
: "${STACK:?}" "${NODES:?}" "${KEEP:?}" "${NGINX:?}" "${UPSTREAM_SUFFIX:?}"
stop_seconds="${STOP_SECONDS:-15}"
here="$(cd "$(dirname "$0")" && pwd)"

# "name node" of every running app container of the stack.
running=$(docker ps --filter "label=ha-stack.stack=$STACK" --filter "label=ha-stack.role=app" \
  --format '{{.Names}} {{.Label "ha-stack.node"}}')

old=()
while read -r name node; do
  [ -n "$name" ] || continue
  [[ " $NODES " == *" $node "* ]] || continue
  [[ " $KEEP " == *" $name "* ]] && continue
  old+=("$name")
done <<<"$running"

if [ "${#old[@]}" -eq 0 ]; then
  echo "handover of $NODES: no old container"
  exit 0
fi

# nginx serves every healthy app container but the old ones; only when nginx runs (an nginx
# being replaced starts from the config the program renders).
if [ "$(docker inspect -f '{{.State.Running}}' "$NGINX" 2>/dev/null || true)" = "true" ]; then
  upstreams=""
  while read -r name; do
    [ -n "$name" ] || continue
    [[ " ${old[*]} " == *" $name "* ]] && continue
    upstreams+="$name $UPSTREAM_SUFFIX"$'\n'
  done < <(docker ps --filter "label=ha-stack.stack=$STACK" --filter "label=ha-stack.role=app" \
    --filter health=healthy --format '{{.Names}}' | sort)
  if [ -z "$upstreams" ]; then
    echo "handover of $NODES: no healthy app container to serve; old ones kept" >&2
    exit 1
  fi
  CONTAINER="$NGINX" UPSTREAMS="$upstreams" bash "$here/nginx-push-config.sh"
fi

echo "handover of $NODES: stopping ${old[*]}"
docker stop -t "$stop_seconds" "${old[@]}" >/dev/null
