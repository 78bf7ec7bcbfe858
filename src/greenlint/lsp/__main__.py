"""`python -m greenlint.lsp`: the same as `greenlint server`."""

from greenlint.lsp import main

main()
