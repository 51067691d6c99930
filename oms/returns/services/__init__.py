"""Returns' application services (to come: RMA, receiving into quarantine, grading,
dispositions), shared by the API, the CLI and the workers."""
