"""papertape's message contract: every message on the bus, and how it is encoded (msgspec only).

The bounds of every number and time a message may carry are tabled in
``papertape.contract.bounds``; stored history from before them reads through
``papertape.contract.codec.HistoryCodec``.
"""
