"""``python -m convscope`` runs the command line."""
import sys

from convscope.cli import main

sys.exit(main())
