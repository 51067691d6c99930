"""Channel sync's use cases: push, pull, confirm, reconcile (built in issue 9)."""
