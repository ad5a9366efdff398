"""`python -m vmssdash` is the same as the `vmssdash` console script."""

from vmssdash.cli import main

raise SystemExit(main())
