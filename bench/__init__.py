"""``make bench``: certdesk's performance measured against references, in one run, one table.

Nothing here is a test: figures are printed with their targets, never asserted (DESIGN.md,
"Testing"). ``python -m bench.run`` is the entry point; each module measures one thing.
"""
