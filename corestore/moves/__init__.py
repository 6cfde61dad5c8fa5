"""Moving a tenant between scale units of its geo, online (`corestore tenant move`)."""
