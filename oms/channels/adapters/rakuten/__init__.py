"""Rakuten Ichiba RMS Web Service adapter: `RakutenGateway` (gateway.py) over the ESA header
(auth.py), one HTTP call path with Rakuten's error families mapped to the sync's errors
(client.py), orders (orders.py), stock (inventory.py) and shipments (shipping.py)."""
