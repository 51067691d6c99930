"""Use cases of the privacy context, shared by the API, the CLI and the daily loop."""
