"""HTTP routes: OAuth token and discovery endpoints, the Graph-shaped directory, the operator API."""
