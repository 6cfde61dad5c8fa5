"""The geo bench (`python -m bench geo`): reads and writes across the simulated WAN, its report."""
