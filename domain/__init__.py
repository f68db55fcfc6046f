"""Pure domain rules: money, plans, writing and retrieval. No I/O, safe to import anywhere."""
