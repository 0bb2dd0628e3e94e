-- Up Migration
CREATE TABLE users (
  id integer PRIMARY KEY,
  name text NOT NULL,
  key text NOT NULL UNIQUE
);

CREATE TABLE requests (
  id bigserial PRIMARY KEY,
  method text NOT NULL,
  path text NOT NULL,
  replica integer NOT NULL,
  hostname text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE metrics (
  id bigserial PRIMARY KEY,
  hostname text NOT NULL,
  load1 double precision NOT NULL,
  load5 double precision NOT NULL,
  load15 double precision NOT NULL,
  mem_total_bytes bigint NOT NULL,
  mem_free_bytes bigint NOT NULL,
  disk_total_bytes bigint NOT NULL,
  disk_free_bytes bigint NOT NULL,
  collected_at timestamptz NOT NULL DEFAULT now()
);

-- Messages of the socket.io Postgres adapter that exceed NOTIFY's payload limit.
CREATE TABLE socket_io_attachments (
  id bigserial UNIQUE,
  created_at timestamptz DEFAULT now(),
  payload bytea
);

-- Down Migration
DROP TABLE socket_io_attachments;
DROP TABLE metrics;
DROP TABLE requests;
DROP TABLE users;
