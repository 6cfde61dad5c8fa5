"""A simulated WAN: one delaying proxy per server, and the links between front ends."""
