"""Personal data: per-channel anonymisation deadlines, legal holds and the audit log of reads."""
