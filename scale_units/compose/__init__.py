"""The same cluster in containers: the compose file, its state service, and its members."""
