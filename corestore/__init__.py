"""Tenants and their directory objects, isolated by tenant in the code and in the database.

Uses `scale_units` for where a tenant lives; knows nothing of HTTP or tokens.
Start at `corestore.store.CoreStore`.
"""
