"""``python -m als_core``: the command line (see ``als_core.cli``)."""

from .cli import PROG, main

if __name__ == "__main__":
    raise SystemExit(main(prog=PROG))
