"""Token signing keys: the key material, a cloud's ring, its file, and the rotation rules."""
