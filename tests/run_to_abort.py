"""A run that holds a loopback Ray cluster and, where Chromium is installed, a browser until it
is killed: test_cleanup.py starts it as a pytest run of its own and kills it (this file's name
keeps it out of the suite)."""
from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from ray_nodes import loopback_cluster  # noqa: E402


def test_holds_a_cluster_and_a_browser_until_killed(request):
    if shutil.which("chromium") and shutil.which("chromedriver"):
        request.getfixturevalue("chromium")
    with loopback_cluster(1):
        Path(os.environ["CONVSCOPE_ABORT_READY"]).write_text(os.environ["CONVSCOPE_TEST_RUN"])
        time.sleep(600)
