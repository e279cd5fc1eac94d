"""ScoreFit in DaVinci Resolve ▸ Workspace ▸ Scripts ▸ ScoreFit: "Generate Soundtrack" (a
soundtrack that fits the current timeline) and "Refit Soundtrack" (the placed soundtrack's
song fitted again after a recut; free when the song is long enough).

resolve_scripts/install.py writes one menu entry per action from this file, with where
ScoreFit's private libraries live. Bind an entry to a key in DaVinci Resolve ▸ Keyboard
Customization.
"""
import sys

LIB = "@SCOREFIT_LIB@"
ACTION = "@SCOREFIT_ACTION@"

if LIB.startswith("@"):
    print("ScoreFit: this copy was not installed; run 'python resolve_scripts/install.py'.")
else:
    if LIB not in sys.path:
        sys.path.insert(0, LIB)
    from scorefit.resolve.app import main

    main(globals(), refit=ACTION == "refit")
