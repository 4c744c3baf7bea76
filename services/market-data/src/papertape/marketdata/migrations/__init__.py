"""The bar store's versioned SQL migrations (applied by ``papertape.marketdata.barstore``)."""
