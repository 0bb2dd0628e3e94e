#!/usr/bin/env bash
# Run by the Pulumi program (a command.local.Command) on the host that runs `pulumi up`:
# writes nginx's rendered config into the RUNNING nginx container and waits until nginx serves
# exactly the wanted upstreams. The container's entrypoint watcher reloads nginx in place
# (SIGHUP: no dropped connections), so scaling and algorithm changes never replace nginx.
#
# Environment: CONTAINER (nginx container name), NGINX_CONF (unset: nginx.conf kept), UPSTREAMS
# (file contents), TIMEOUT_SECONDS (default 60).
set -euo pipefail
: "${CONTAINER:?}" "${UPSTREAMS:?}"
timeout_seconds="${TIMEOUT_SECONDS:-60}"

# Atomic replace (write, then rename) so the watcher never reads half a file. Uploaded files
# are root's, hence -u root.
put() {
  printf '%s' "$2" | docker exec -i -u root "$CONTAINER" \
    sh -c "cat > '$1.new' && chmod 0644 '$1.new' && mv -f '$1.new' '$1'"
}
if [ -n "${NGINX_CONF:-}" ]; then put /etc/ha-stack/nginx.conf "$NGINX_CONF"; fi
put /etc/ha-stack/upstreams "$UPSTREAMS"

# The hosts nginx must end up with, in the watcher's `server ip:port params; # host` format.
wanted=$(printf '%s\n' "$UPSTREAMS" | awk 'NF && $1 !~ /^#/ {print $1}' | sort | tr '\n' ' ')
deadline=$((SECONDS + timeout_seconds))
while :; do
  serving=$(docker exec "$CONTAINER" sh -c "sed -n 's/.*# //p' /run/nginx/upstream-servers.conf" |
    sort | tr '\n' ' ')
  if [ "$serving" = "$wanted" ]; then
    # The watcher writes the file just before it signals nginx; let the reload land.
    sleep 1
    echo "nginx in $CONTAINER serves: $serving"
    exit 0
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "nginx in $CONTAINER still serves '$serving' after ${timeout_seconds}s; wanted '$wanted'" >&2
    docker logs --tail 20 "$CONTAINER" >&2 || true
    exit 1
  fi
  sleep 0.5
done
