"""`python -m engine` is the same program as `sync` and `sellersync`."""

from engine.cli.main import main

raise SystemExit(main())
