"""HTTP workloads: the front ends under load, the wire client, and the raw ASGI ceiling."""
