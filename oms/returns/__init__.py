"""Returns and repairs: customer service's half of the product (issue 10).

The domain (`domain/`) comes first: the return's state machine, grading and dispositions of
each physical unit. Services, storage and the API follow it.
"""
