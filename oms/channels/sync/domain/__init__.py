"""Channel sync's pure rules: the canonical shapes every channel adapter speaks, connections,
and the errors a channel answers with."""
