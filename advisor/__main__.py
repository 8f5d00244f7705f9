"""``python -m advisor`` is the same as the ``advisor`` console script."""

from advisor.cli import main

raise SystemExit(main())
