"""Value types, errors and events shared by every context. No I/O here."""
