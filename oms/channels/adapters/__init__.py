"""One adapter per channel API (amazon/, rakuten/, storefront/), each implementing
`oms.channels.sync.ports.ChannelGateway` with a module per concern: auth, orders, inventory,
shipping."""
