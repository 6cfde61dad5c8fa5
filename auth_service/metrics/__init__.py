"""The front end's Prometheus metrics: what it counts as requests pass, and what it reads at scrape."""
