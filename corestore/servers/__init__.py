"""What the store knows of its servers: health and lag (monitor), units added while it runs,
readiness, and the counters its metrics read."""
