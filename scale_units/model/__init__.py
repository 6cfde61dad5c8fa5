"""The cluster as data: clouds, geos, regions, countries, topology files, placement, residency."""
