"""Culling: the open folder as data and the only writer of the user's edits (flags, stars, crops, group edits),
each one undoable step that says what changed. No Qt: the window is its view, the command line another caller."""
