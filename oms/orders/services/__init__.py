"""Orders' use cases (placing, fulfilment, cancellation, settings), shared by the API, the CLI and
the workers.
"""
