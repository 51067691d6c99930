"""Resale: each graded returned item its own sellable unit of quantity 1 (issue 10 §5)."""
