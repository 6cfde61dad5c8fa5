"""The load harness: the hot path against raw baselines in one run (`python -m bench`)."""

from pathlib import Path

# Where every bench writes its run's folder unless told otherwise (`--out`).
RESULTS = Path(__file__).parent / "results"
