"""The command line: thin click commands that call the engine and return an exit code."""
