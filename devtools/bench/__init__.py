"""``python -m devtools.bench``: the API measured side by side with the raw Temporal floor.

One run starts its own embedded stack (the Temporal dev server, fake OpenAI-compatible
servers, the real worker and the real API as subprocesses), measures the floor and the API
on that same server, prints a table with the API ÷ floor ratios and writes BENCHMARKS.md.
A command run by hand, never a test: its numbers depend on the machine.
"""
