-- Up Migration
-- The backup repository's state for the status board (README, "Backups and restore"): one row,
-- written by the stack's backup container (pg-backup, as the postgres superuser, through the
-- primary's socket) every minute and after each backup: `pgbackrest info` in short (label, type,
-- times and sizes of each backup), the archive's first and last WAL segment and the recoverable
-- window. The app only reads it. Every step checks before it acts.
CREATE TABLE IF NOT EXISTS backup_status (
  id integer PRIMARY KEY CHECK (id = 1),
  info jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE IF EXISTS backup_status;
