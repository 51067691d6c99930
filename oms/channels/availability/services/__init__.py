"""Channel availability's use cases: channels and rules, the read path, publication, change feeds,
rules in bulk.
"""
