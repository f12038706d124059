"""Culling: the open folder as data and the only writer of the user's edits, without Qt (the window is its view,
the command line another caller).

`session` (CullingSession: what a key acts on, decide, rate, crop, keep best, split, merge, undo, redo, each one
undoable step that returns what changed), `view` (the rows: sort, filter, stacks), `history` (the undo log and
the only SQL that writes a photo's flag, stars or crop; only the session imports it); beside them what the folder
is shown by: `groups` (photos of one moment as one group), `people` (the shoot's key people), `ranking` (the
orders).
"""
