"""Orders' pure rules: the order aggregate, its events, sourcing, geography and pick lists. Imports
only the stdlib, oms.shared and upstream domains.
"""
