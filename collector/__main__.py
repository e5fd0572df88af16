"""``python -m collector serve …`` is ``spyglass serve …``."""

from collector.cli import main

if __name__ == "__main__":
    main()
