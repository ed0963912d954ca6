"""What tests share: fakes of the platforms, clocks, seeded rows, and the ways people talk to the bot."""
