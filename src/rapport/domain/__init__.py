"""Pure rules and types. Standard library only: no I/O, no framework, no clock."""
