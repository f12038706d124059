"""What the app remembers: `catalog` (the SQLite catalog of every photo, its scores and the user's decisions),
`catalog_access` (the one way to open it, every failure one line), `settings` (the user's preferences, versioned
JSON), `thumbnails` (the on-disk thumbnail cache)."""
