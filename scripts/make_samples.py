"""Write the sample data files in data/ (fixed seeds: running it again gives the same bytes).

    python scripts/make_samples.py            # writes data/*.csv
    python scripts/make_samples.py --out DIR  # somewhere else

The data models are documented in als_core/samples.py and data/README.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from als_core.samples import DATA_DIR, write_samples  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="output folder (default data/)")
    args = parser.parse_args(argv)
    for path in write_samples(args.out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
