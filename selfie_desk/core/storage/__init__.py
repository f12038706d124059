"""What the app remembers of photos: `catalog` (the SQLite catalog of every photo, its scores and the user's
decisions), `catalog_access` (the one way to open it, every failure one line), `thumbnails` (the on-disk thumbnail
cache). The bottom layer of the core's packages: it imports none of them. (The user's preferences are
core/settings.py, beside the packages.)"""
