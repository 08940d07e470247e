"""`asymlearn` subcommands that live in the training package (train, evaluate)."""
