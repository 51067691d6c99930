"""Channel sync's own adapters: the Redis-shared rate limiter (channel adapters live in
oms.channels.adapters)."""
