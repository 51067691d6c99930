"""The storefront adapter: Shopify's Admin GraphQL API (../shared/contracts section 3)."""
