"""Building blocks of the query API: parameter parsing, keyset cursors, SQL filters, errors.

Route modules in ``collector/api`` stay thin; what they share lives here so every route
parses ``since``/``until``, cursors and filters the same way and fails the same way.
"""
