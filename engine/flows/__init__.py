"""One module per command flow: each gathers its I/O first (the config, the state store, the
backend through the one session), then calls the pure steps of the domain packages. The CLI
calls these; nothing below them imports them."""
