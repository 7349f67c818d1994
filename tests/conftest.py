import os
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# fixturecases.py is shared test data, imported by name from the test modules
sys.path.insert(0, str(Path(__file__).parent))

# Property tests: `ci` (the default) is derandomized -- the same examples on every run, so CI
# is reproducible -- and sized for the whole of test_properties.py to run in well under a
# minute on two cores. `long` explores: HYPOTHESIS_PROFILE=long python -m pytest
# tests/test_properties.py (random seeds; failures are saved in .hypothesis/ and replayed).
_COMMON = {
    "deadline": None,  # an email is patched, verified by lxml and patched again per example
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("ci", derandomize=True, max_examples=500, **_COMMON)
settings.register_profile("long", max_examples=3_000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Generated cases that ran, per property (test_properties.py counts them; shown at the end).
GENERATED: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if GENERATED:
        total = sum(GENERATED.values())
        profile = settings._current_profile  # type: ignore[attr-defined]
        terminalreporter.write_sep("-", f"{total:,} generated cases ran (profile {profile})")
        for name, count in sorted(GENERATED.items()):
            terminalreporter.write_line(f"{count:>8,}  {name}")
