import sys
from pathlib import Path

# fixturecases.py is shared test data, imported by name from the test modules
sys.path.insert(0, str(Path(__file__).parent))
