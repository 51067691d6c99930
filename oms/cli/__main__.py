"""`python -m oms.cli`: the same as the `oms` command."""

from oms.cli import main

main()
