"""The bus: broker factory, stream declarations, publishing with dedup ids, dead letters."""
