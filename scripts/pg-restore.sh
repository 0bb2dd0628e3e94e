#!/usr/bin/env bash
# Run by the Pulumi program (a command.local.Command of pg-0, only when restoreTo is set) on the
# host that runs `pulumi up`, before pg-0 first starts: restores pg-0's EMPTY data volume from a
# backup repository volume with `pg-backup restore` in a throwaway container of the postgres
# image (no network, the repository read-only). pg-backup first checks that the repository can
# reach the target and fails naming the recoverable window otherwise; nothing is written then.
#
# Environment: IMAGE (postgres image), DATA_VOLUME (pg-0's volume), MOUNT (where pg-0 mounts it),
# REPOSITORY (repository volume), TARGET (latest or a UTC ISO time).
set -euo pipefail
: "${IMAGE:?}" "${DATA_VOLUME:?}" "${MOUNT:?}" "${REPOSITORY:?}" "${TARGET:?}"

if ! docker volume inspect "$REPOSITORY" >/dev/null 2>&1; then
  echo "pg-restore: no backup repository volume '$REPOSITORY' on this Docker host (restoreFrom names a stack whose repository exists: docker volume ls --filter label=ha-stack.role=backups)" >&2
  exit 1
fi
exec docker run --rm --network none --user postgres \
  --volume "$REPOSITORY:/var/lib/pgbackrest:ro" \
  --volume "$DATA_VOLUME:$MOUNT" \
  --env PGBACKREST_REPO1_PATH=/var/lib/pgbackrest \
  --env PGBACKREST_LOG_LEVEL_FILE=off \
  --env PGBACKREST_LOG_LEVEL_CONSOLE=info \
  --env PGBACKREST_LOCK_PATH=/tmp/pgbackrest \
  --entrypoint /usr/local/bin/pg-backup \
  "$IMAGE" restore "$TARGET" "$MOUNT/pgdata"
