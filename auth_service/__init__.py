"""The stateless front end: tokens, routing to the nearest replica, a Graph-shaped API.

The top layer: it uses `corestore` and `scale_units`; nothing imports it.
"""
