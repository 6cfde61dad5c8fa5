"""Graph's JSON at the HTTP edge: each kind's shapes and bodies, query options, @odata annotations."""
