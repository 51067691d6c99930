"""Channel sync: pushing numbers, pulling orders, confirming shipments, reconciling, within
each channel's rate limits. The adapters (oms.channels.adapters) implement its ports."""
