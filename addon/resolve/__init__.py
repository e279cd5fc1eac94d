"""The DaVinci Resolve layer: ``adapter`` (read the timeline, place the clip) and ``app``
(the Workspace ▸ Scripts entry: a dialog, or console mode on the free edition)."""
