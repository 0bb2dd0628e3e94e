#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine: install docker.io from apt when the
# daemon is missing, start dockerd when it is not running, wait until `docker info` answers.
# Idempotent; quick when the engine already runs. Needs root when it has to install or start.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker-up: installing docker.io from apt" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "docker-up: starting dockerd (log: /var/log/dockerd.log)" >&2
  # setsid: the daemon outlives the shell (and the CI step) that started it.
  setsid dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
fi

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 1
done
echo "docker-up: dockerd did not answer within 60 s; last lines of /var/log/dockerd.log:" >&2
tail -n 20 /var/log/dockerd.log >&2 || true
exit 1
