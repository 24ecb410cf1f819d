"""`python -m rapport ...`: the same as the `rapport` command."""

from rapport.cli import main

main()
