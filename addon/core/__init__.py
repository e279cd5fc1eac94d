"""ScoreFit's host-free core: timeline model, prompt and plan, MusicAPI client, pipeline,
fitting and storage. Nothing here may import a host (bpy, DaVinciResolveScript); a test
enforces it, so the same code serves Blender, Resolve and the command line."""
