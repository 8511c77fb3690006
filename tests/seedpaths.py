"""Where the seed's examples are: ``../shared/seed/examples`` beside the checkout (CI lays out a
fresh clone the same way), or ``JETKUBE_SEED_EXAMPLES``."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED_EXAMPLES = Path(os.environ.get("JETKUBE_SEED_EXAMPLES") or ROOT.parent / "shared" / "seed" / "examples")
