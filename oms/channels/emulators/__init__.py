"""Faithful stand-ins for the three channel APIs (`oms emulate amazon|rakuten|storefront`),
built from ../shared/contracts alone: they never import the adapters, so the two cannot share a
misreading."""
