"""`python -m fluxcd_helm_upgrader` runs the CLI."""

import sys

from fluxcd_helm_upgrader.cli import main

sys.exit(main())
