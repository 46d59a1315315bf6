"""How long jobs report progress: callbacks the command line turns into progress bars (the
library never prints)."""
from __future__ import annotations

from typing import Callable

Progress = Callable[[int, int], None]
"""Called with (done, in all), counted in the job's own unit: unit-steps of a render, photos
of a photo pass."""

StageProgress = Callable[[str, int, int], None]
"""Called with (stage, done, in all) by a job of several stages (such as "photos", "cells")."""
