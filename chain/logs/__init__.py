"""Event logs: bloom, index, query, filters and subscriptions (see chain.logs.query)."""
