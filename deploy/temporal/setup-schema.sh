#!/bin/sh
# One-shot job (temporalio/admin-tools image) run by docker-compose before the Temporal server:
# creates the `temporal` and `temporal_visibility` PostgreSQL databases and brings both schemas
# up to the version this admin-tools release ships. Idempotent, so it runs on every `up`:
#   - `create` of an existing database is reported and skipped;
#   - `setup-schema -v 0.0` leaves a database that already has a newer version alone;
#   - `update-schema` applies only the versioned migrations the database does not have yet.
# Keep the admin-tools tag equal to the server tag: the server refuses to start on an older schema.
set -eu

host="${POSTGRES_SEEDS:-postgresql}"
port="${DB_PORT:-5432}"
user="${POSTGRES_USER:-temporal}"
# temporal-sql-tool reads the password from SQL_PASSWORD (kept out of the process list).
SQL_PASSWORD="${POSTGRES_PWD:-}"
export SQL_PASSWORD
# The admin-tools image's copy; scripts/rehearse-production.sh points it at the Go module's.
schema_root="${TEMPORAL_SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}"

sqltool() {
  temporal-sql-tool --plugin postgres12 --ep "$host" -p "$port" -u "$user" "$@"
}

create_db() {
  db="$1"
  attempt=1
  while :; do
    # temporal-sql-tool's create succeeds on an existing database too (postgres12 plugin).
    if out=$(sqltool --db "$db" create 2>&1); then
      echo "setup-schema: database $db is there (created unless it existed)"
      return 0
    fi
    case "$out" in
      *"already exists"*)
        echo "setup-schema: database $db already exists"
        return 0
        ;;
    esac
    if [ "$attempt" -ge 30 ]; then
      echo "setup-schema: cannot create database $db on $host:$port:" >&2
      echo "$out" >&2
      return 1
    fi
    echo "setup-schema: PostgreSQL at $host:$port not ready yet (attempt $attempt), retrying in 2 s"
    attempt=$((attempt + 1))
    sleep 2
  done
}

setup_db() {
  db="$1"
  versioned="$2"
  create_db "$db"
  sqltool --db "$db" setup-schema -v 0.0
  sqltool --db "$db" update-schema -d "$schema_root/$versioned/versioned"
  echo "setup-schema: $db is up to date"
}

setup_db temporal temporal
setup_db temporal_visibility visibility
echo "setup-schema: done"
