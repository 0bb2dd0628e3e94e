#!/usr/bin/env bash
# Run by the Pulumi program (a command.local.Command of pg-0, only when restoreTo is set) on the
# host that runs `pulumi up`, before pg-0 first starts: restores pg-0's EMPTY data volume from a
# backup repository with `pg-backup restore` in a throwaway container of the postgres image (no
# network). pg-backup first checks that the repository can reach the target and fails naming the
# recoverable window otherwise; nothing is written then. A repository of another stack
# (restoreFrom) is mounted read-only and copied into this stack's own, empty one, which pg-0
# reads the archive from while it recovers and archives into afterwards.
#
# Environment: IMAGE (postgres image), DATA_VOLUME (pg-0's volume), MOUNT (where pg-0 mounts it),
# REPOSITORY (the repository to restore from), OWN_REPOSITORY (this stack's), TARGET (latest or
# a UTC ISO time).
set -euo pipefail
: "${IMAGE:?}" "${DATA_VOLUME:?}" "${MOUNT:?}" "${REPOSITORY:?}" "${OWN_REPOSITORY:?}" "${TARGET:?}"

if ! docker volume inspect "$REPOSITORY" >/dev/null 2>&1; then
  echo "pg-restore: no backup repository volume '$REPOSITORY' on this Docker host (restoreFrom names a stack whose repository exists: docker volume ls --filter label=ha-stack.role=backups); nothing was changed" >&2
  exit 1
fi
source_args=()
if [ "$REPOSITORY" != "$OWN_REPOSITORY" ]; then
  source_args=(--volume "$REPOSITORY:/var/lib/pgbackrest-source:ro")
fi
exec docker run --rm --network none --user postgres \
  --volume "$OWN_REPOSITORY:/var/lib/pgbackrest" \
  "${source_args[@]}" \
  --volume "$DATA_VOLUME:$MOUNT" \
  --env PGBACKREST_REPO1_PATH=/var/lib/pgbackrest \
  --env PGBACKREST_LOG_LEVEL_FILE=off \
  --env PGBACKREST_LOG_LEVEL_STDERR=off \
  --env PGBACKREST_LOG_LEVEL_CONSOLE=info \
  --env PGBACKREST_LOCK_PATH=/tmp/pgbackrest \
  --entrypoint /usr/local/bin/pg-backup \
  "$IMAGE" restore "$TARGET" "$MOUNT/pgdata" \
  "$([ "$REPOSITORY" != "$OWN_REPOSITORY" ] && echo /var/lib/pgbackrest-source)"
