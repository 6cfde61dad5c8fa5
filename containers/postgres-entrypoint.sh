#!/usr/bin/env bash
# A compose server's entrypoint (see scale_units/compose.py), run as the image's
# unprivileged `corestore` user.  On the first start, with an empty data directory:
#   a primary runs initdb and creates the roles of `cluster up` (scale_units/launcher.py):
#     corestore_owner (owns the databases, runs migrations), corestore_app (owns nothing,
#     NOBYPASSRLS), corestore_repl (replication); then its databases, and SCRAM everywhere;
#   a replica ($CORESTORE_PRIMARY_HOST set) clones its primary with pg_basebackup, with a
#     slot and application_name of its own name, as the primary's quorum names it.
# Then it runs its command (`postgres --setting=value ...`).  It waits for what it needs
# itself, since podman-compose before podman 4.6 ignores `depends_on` health conditions.
set -Eeuo pipefail

: "${CORESTORE_SERVER:?postgres-entrypoint: CORESTORE_SERVER (the name of this server) is not set}"
state=/var/lib/corestore
export PGDATA=/var/lib/postgresql/data

wait_for() { # seconds, description, command...
    local seconds=$1 what=$2
    shift 2
    for _ in $(seq "$((seconds * 2))"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    echo "postgres-entrypoint: $CORESTORE_SERVER: $what" >&2
    exit 1
}

wait_for 120 "no $state/server.env: the config service failed (see its log)" test -s "$state/server.env"
set -a
# shellcheck disable=SC1091
. "$state/server.env"
set +a

init_primary() {
    : "${CORESTORE_DATABASES:?postgres-entrypoint: CORESTORE_DATABASES is not set}"
    local pwfile
    pwfile=$(mktemp)
    printf '%s\n' "$CORESTORE_SUPERUSER_PASSWORD" >"$pwfile"
    initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" -A scram-sha-256 -E UTF8 --locale=C >/dev/null
    rm -f "$pwfile"
    # Socket only while the roles are made: nobody connects to a half-made primary.
    pg_ctl -D "$PGDATA" -w -s -l /tmp/init.log -o "-c listen_addresses='' -c unix_socket_directories=/tmp" start
    export PGPASSWORD="$CORESTORE_SUPERUSER_PASSWORD"
    local psql=(psql -h /tmp -U postgres -d postgres -v ON_ERROR_STOP=1 --no-psqlrc -q)
    # \getenv keeps the passwords out of argv; :'name' quotes them as literals.
    "${psql[@]}" <<'EOSQL'
\getenv owner_password CORESTORE_OWNER_PASSWORD
\getenv app_password CORESTORE_APP_PASSWORD
\getenv repl_password CORESTORE_REPLICATION_PASSWORD
CREATE ROLE corestore_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE corestore_app LOGIN PASSWORD :'app_password'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION;
CREATE ROLE corestore_repl LOGIN REPLICATION PASSWORD :'repl_password';
EOSQL
    for database in $CORESTORE_DATABASES; do
        "${psql[@]}" --set database="$database" <<'EOSQL'
CREATE DATABASE :"database" OWNER corestore_owner;
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"database" TO corestore_app;
EOSQL
    done
    unset PGPASSWORD
    pg_ctl -D "$PGDATA" -w -s -m fast stop
    # pg_basebackup copies this to the replicas.
    cat >"$PGDATA/pg_hba.conf" <<'EOF_HBA'
local all all scram-sha-256
host replication corestore_repl all scram-sha-256
host all all all scram-sha-256
EOF_HBA
}

clone_primary() {
    local slot=${CORESTORE_SERVER//-/_}
    wait_for 180 "primary $CORESTORE_PRIMARY_HOST not ready" pg_isready -h "$CORESTORE_PRIMARY_HOST" -p 5432
    export PGPASSWORD="$CORESTORE_REPLICATION_PASSWORD"
    local conn=(-h "$CORESTORE_PRIMARY_HOST" -p 5432 -U corestore_repl --no-password)
    # A slot outlives a replica whose volume was removed, and -C refuses an existing one.
    pg_receivewal --drop-slot --slot="$slot" "${conn[@]}" 2>/dev/null || true
    pg_basebackup "${conn[@]}" -d "application_name=$CORESTORE_SERVER" \
        -D "$PGDATA" -X stream -c fast -C -S "$slot" -R
    unset PGPASSWORD
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    chmod 0700 "$PGDATA"
    if [ -n "${CORESTORE_PRIMARY_HOST:-}" ]; then clone_primary; else init_primary; fi
fi
exec "$@"
