"""Where each tenant's data lives: the residency report and the audit that checks it."""
