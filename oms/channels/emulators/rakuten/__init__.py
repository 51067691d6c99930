"""Rakuten Ichiba RMS Web Service, emulated (`oms emulate rakuten`): the ESA header, the Rakuten
Pay Order API (searchOrder, getOrder, updateOrderShipping), Inventory API 2.0 (bulk-get,
bulk-upsert), the three error families, per-function rate limits, seeded orders and faults.
Built from ../shared/contracts (section 2) alone; facts marked [U] there are `EmulatorConfig`."""
