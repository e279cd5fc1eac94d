"""ScoreFit: fit the placed soundtrack's song to the current timeline again after a recut
(DaVinci Resolve ▸ Workspace ▸ Scripts). Free when the song is long enough.

Installed by resolve_scripts/install.py, which writes below where ScoreFit's private
libraries live. Bind it to a key in DaVinci Resolve ▸ Keyboard Customization.
"""
import sys

LIB = "@SCOREFIT_LIB@"

if LIB.startswith("@"):
    print("ScoreFit: this copy was not installed; run 'python resolve_scripts/install.py'.")
else:
    if LIB not in sys.path:
        sys.path.insert(0, LIB)
    from scorefit.resolve.app import main

    main(globals(), refit=True)
