"""The torch-free core: catalog, decoding, looks, crop geometry, model names and cards, export, sidecars.
Plain Python, numpy and Pillow; never imports Qt or torch (import-linter checks both), so the window and the
command line read these facts without loading the networks (selfie_desk.neural)."""
