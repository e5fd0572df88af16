"""``python -m tracer.llm``: check a price file, price a call, count tokens.

    python -m tracer.llm prices [FILE]           validate FILE (default: $SPYGLASS_PRICES_FILE)
                                                 and list the prices in force today
    python -m tracer.llm cost MODEL IN OUT [--cached N] [--cache-write N] [--at YYYY-MM-DD]
    python -m tracer.llm tokens TEXT [--model MODEL]   (TEXT "-" reads stdin)

Errors print one line on stderr and exit with status 2 (bad input) or 1 (unknown model).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date

from common import pricing


def _prices(args: argparse.Namespace) -> int:
    if args.file:
        # Check the file named on the command line as such, so an error does not blame
        # SPYGLASS_PRICES_FILE; then load it the way the environment variable would.
        pricing.check_file(args.file)
        os.environ[pricing.PRICES_FILE_ENV] = args.file
    version = pricing.load_prices()
    rows = []
    for name in sorted(pricing.known_models()):
        price = pricing.price_for(name)
        if price is None:
            continue
        cached = "-" if price.cached_input is None else f"{price.cached_input:g}"
        rows.append(f"{name:<28} {price.provider or '-':<12} {price.input:>9g} {cached:>9} "
                    f"{price.output:>9g}  {price.effective_from.isoformat()}")
    print(f"price table {version}: {len(rows)} models, USD per million tokens")
    print(f"{'model':<28} {'provider':<12} {'input':>9} {'cached':>9} {'output':>9}  since")
    print("\n".join(rows))
    return 0


def _cost(args: argparse.Namespace) -> int:
    at = date.fromisoformat(args.at) if args.at else None
    cost = pricing.cost_usd(args.model, args.input_tokens, args.output_tokens,
                            cached_tokens=args.cached, at=at,
                            cache_creation_tokens=args.cache_write)
    if cost is None:
        print(f"error: unknown model {args.model!r}: not in price table "
              f"{pricing.table_version()} (add it with {pricing.PRICES_FILE_ENV})",
              file=sys.stderr)
        return 1
    print(f"{cost:.8f} USD ({args.model} billed as {pricing.resolve_model(args.model)}, "
          f"table {pricing.table_version()})")
    return 0


def _tokens(args: argparse.Namespace) -> int:
    from tracer.llm.tokens import count_tokens, encoding_name_for_model

    text = sys.stdin.read() if args.text == "-" else args.text
    print(f"{count_tokens(text, args.model)} tokens ({encoding_name_for_model(args.model)})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tracer.llm",
                                     description="Spyglass LLM pricing and token counting.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prices", help="validate a price file and list the prices in force")
    p.add_argument("file", nargs="?", help=f"override file (default: ${pricing.PRICES_FILE_ENV})")
    p.set_defaults(run=_prices)
    c = sub.add_parser("cost", help="cost in USD of one call")
    c.add_argument("model")
    c.add_argument("input_tokens", type=int)
    c.add_argument("output_tokens", type=int)
    c.add_argument("--cached", type=int, default=0, help="cache-hit tokens (part of input)")
    c.add_argument("--cache-write", type=int, default=0, help="cache-write tokens (part of input)")
    c.add_argument("--at", help="price in force on this date (YYYY-MM-DD)")
    c.set_defaults(run=_cost)
    t = sub.add_parser("tokens", help="count tokens with tiktoken, offline")
    t.add_argument("text", help='text to count, or "-" for stdin')
    t.add_argument("--model", default=None)
    t.set_defaults(run=_tokens)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, RuntimeError) as e:  # PricingError, TokenizerDataError, bad dates
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
