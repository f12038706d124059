"""The headless core: catalog, decoding, models, scoring. Pure Python and torch; never imports Qt."""
