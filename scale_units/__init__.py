"""Where tenant data may live: clouds, geos, regions, scale units, and the local cluster.

The bottom layer: it knows nothing of tenants' directory data (`corestore`) or of
HTTP and tokens (`auth_service`); both of those import from here, never the reverse.
"""
