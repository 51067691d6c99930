"""HTTP API of the channel sync: connections and listings (more routes come with the sync)."""
