#!/usr/bin/env bash
# A streaming replica's entrypoint, run as the postgres image's `postgres` user.
#
# On the first start (no PG_VERSION in $PGDATA) it clones its primary with
# pg_basebackup, as scale_units/server.py does: WAL streamed during the copy,
# its own physical replication slot created on the primary (-C -S), and -R to
# write standby.signal plus primary_conninfo/primary_slot_name.  The
# connection's application_name (this server's name) is kept in
# primary_conninfo, so the primary's pg_stat_replication names the replica.
# Then it runs its command (`postgres -c ...`): a hot standby.
set -Eeuo pipefail

: "${PGDATA:?replica-entrypoint: PGDATA is not set}"
: "${CORESTORE_SERVER_NAME:?replica-entrypoint: CORESTORE_SERVER_NAME is not set}"
: "${CORESTORE_PRIMARY_HOST:?replica-entrypoint: CORESTORE_PRIMARY_HOST is not set}"
: "${CORESTORE_REPLICATION_SLOT:?replica-entrypoint: CORESTORE_REPLICATION_SLOT is not set}"
: "${CORESTORE_REPL_PASSWORD:?replica-entrypoint: CORESTORE_REPL_PASSWORD is not set}"

if [ "$#" -eq 0 ]; then
    set -- postgres
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    chmod 0700 "$PGDATA"
    export PGPASSWORD="$CORESTORE_REPL_PASSWORD"
    # The slot outlives a replica whose volume was removed, and -C refuses an
    # existing one: drop it first (an error here only means there was none).
    pg_receivewal --drop-slot --slot="$CORESTORE_REPLICATION_SLOT" \
        -h "$CORESTORE_PRIMARY_HOST" -p 5432 -U corestore_repl --no-password 2>/dev/null || true
    echo "replica-entrypoint: cloning $CORESTORE_PRIMARY_HOST into $PGDATA" \
        "(slot $CORESTORE_REPLICATION_SLOT, application_name $CORESTORE_SERVER_NAME)"
    pg_basebackup \
        -h "$CORESTORE_PRIMARY_HOST" -p 5432 -U corestore_repl --no-password \
        -d "application_name=$CORESTORE_SERVER_NAME" \
        -D "$PGDATA" -X stream -c fast \
        -C -S "$CORESTORE_REPLICATION_SLOT" -R
    unset PGPASSWORD
fi

exec "$@"
