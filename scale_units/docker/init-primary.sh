#!/usr/bin/env bash
# A primary's one-time set-up, run by the postgres image's entrypoint from
# /docker-entrypoint-initdb.d against its socket-only temporary server, on the
# first start with an empty data directory.  Mirrors scale_units/launcher.py:
#
#   corestore_owner  owns the databases, runs migrations
#   corestore_app    what the service connects as: owns nothing, NOBYPASSRLS
#   corestore_repl   LOGIN REPLICATION, for the scale unit's streaming replicas
#
# then the databases this primary holds ($CORESTORE_DATABASES: `corestore`, and
# `corestore_catalog` on the catalog scale unit's primary), and SCRAM for every
# connection.  Passwords come from the environment (docker-compose.yml fills
# them from the shell or a .env file); none is written here.
set -Eeo pipefail

: "${CORESTORE_OWNER_PASSWORD:?init-primary: CORESTORE_OWNER_PASSWORD is not set}"
: "${CORESTORE_APP_PASSWORD:?init-primary: CORESTORE_APP_PASSWORD is not set}"
: "${CORESTORE_REPL_PASSWORD:?init-primary: CORESTORE_REPL_PASSWORD is not set}"
: "${CORESTORE_DATABASES:?init-primary: CORESTORE_DATABASES (the databases of this primary) is not set}"

# As the entrypoint's own docker_process_sql: the superuser over the local socket
# (PGPASSWORD is exported by the entrypoint while init scripts run).
corestore_psql() {
    PGHOST= PGHOSTADDR= psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password \
        --username "${POSTGRES_USER:-postgres}" --dbname postgres "$@"
}

# \getenv keeps the passwords out of psql's argv; :'name' quotes them as literals.
corestore_psql <<'EOSQL'
\getenv owner_password CORESTORE_OWNER_PASSWORD
\getenv app_password CORESTORE_APP_PASSWORD
\getenv repl_password CORESTORE_REPL_PASSWORD
CREATE ROLE corestore_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE corestore_app LOGIN PASSWORD :'app_password'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION;
CREATE ROLE corestore_repl LOGIN REPLICATION PASSWORD :'repl_password';
EOSQL

for database in $CORESTORE_DATABASES; do
    case "$database" in
        corestore | corestore_catalog) ;;
        *)
            echo "init-primary: unknown database '$database' in CORESTORE_DATABASES" >&2
            exit 1
            ;;
    esac
    corestore_psql --set database="$database" <<'EOSQL'
CREATE DATABASE :"database" OWNER corestore_owner;
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"database" TO corestore_app;
EOSQL
done

# Read when the real server starts, after this script; pg_basebackup copies it
# to the replicas, so a promoted replica accepts its peers' replication too.
cat > "$PGDATA/pg_hba.conf" <<'EOF_HBA'
# Written by scale_units/docker/init-primary.sh: every role authenticates with
# SCRAM, over the socket and the network alike.
local all all scram-sha-256
host replication corestore_repl all scram-sha-256
host all all all scram-sha-256
EOF_HBA
