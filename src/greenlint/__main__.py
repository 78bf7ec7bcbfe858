"""`python -m greenlint` runs the CLI."""

from greenlint.cli import main

main()
