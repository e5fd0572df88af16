"""``python -m evals.cli`` == ``evals``."""

from evals.cli import main

main()
