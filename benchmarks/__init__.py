"""Benchmarks: each measures side by side in one run and has a `--quick` mode that tests/test_benchmarks.py runs."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "reports" / "benchmarks"


def results_path(name: str, quick: bool) -> Path:
    """Where a benchmark writes its results by default: reports/benchmarks/NAME.json, NAME-quick.json for a
    --quick run, so a smoke test never replaces a measurement."""
    return RESULTS / f"{name}{'-quick' if quick else ''}.json"
