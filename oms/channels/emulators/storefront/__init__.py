"""The storefront emulator: Shopify Admin GraphQL as ../shared/contracts section 3 describes it."""
