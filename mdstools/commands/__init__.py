"""Check Point commands: each one a line, a mode, a pure parser and a typed record."""
