#!/bin/sh
# One-shot (temporalio/admin-tools): create Temporal's two databases on the PostgreSQL
# server and bring their schemas to the image's version. Safe to run on every start:
# existing databases are kept and only upgraded.
set -eu

: "${SQL_HOST:?}" "${SQL_PORT:?}" "${SQL_USER:?}" "${SQL_PASSWORD:?}"
SCHEMAS=/etc/temporal/schema/postgresql/v12

sql_tool() {
  temporal-sql-tool --plugin postgres12 --endpoint "$SQL_HOST" --port "$SQL_PORT" \
    --user "$SQL_USER" "$@"
}

attempt=0
until nc -z -w 2 "$SQL_HOST" "$SQL_PORT"; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 60 ]; then
    echo "PostgreSQL is unreachable at $SQL_HOST:$SQL_PORT"
    exit 1
  fi
  sleep 1
done

for db in temporal temporal_visibility; do
  case "$db" in
    temporal) versioned="$SCHEMAS/temporal/versioned" ;;
    *) versioned="$SCHEMAS/visibility/versioned" ;;
  esac
  sql_tool --database "$db" create
  sql_tool --database "$db" setup-schema --version 0.0
  sql_tool --database "$db" update-schema --schema-dir "$versioned"
done
echo "Temporal schemas are up to date"
