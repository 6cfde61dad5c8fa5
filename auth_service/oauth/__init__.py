"""Tokens and sign-in: grants, access/refresh/ID tokens, lockout, permissions, the sign-in pages."""
