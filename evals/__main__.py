"""``python -m evals`` == ``evals``."""

from evals.cli import main

main()
