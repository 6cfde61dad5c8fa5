"""HTTP plumbing around the routes: middleware, error mapping, who is calling, the OpenAPI document."""
