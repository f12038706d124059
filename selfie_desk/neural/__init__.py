"""The torch side of the core: networks and the passes that run them."""
