"""The local cluster: etcd and Patroni processes, PostgreSQL binaries, TLS, status, switchover."""
