"""Library and raw-asyncpg workloads: reads and writes against the same servers, and their rows."""
