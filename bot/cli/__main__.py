"""`python -m bot.cli`: the same as `ocop-bot`."""

from bot.cli.commands import main

raise SystemExit(main())
