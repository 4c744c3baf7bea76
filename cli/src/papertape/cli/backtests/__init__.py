"""``papertape backtest`` and ``compare``: bars in, the pure engine, files out."""
