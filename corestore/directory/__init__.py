"""Directory object kinds: one repository class each, sharing `base.Repository`."""
