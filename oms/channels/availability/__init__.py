"""What each channel may sell: rules, the pure pipeline, publication of the numbers, explain."""
