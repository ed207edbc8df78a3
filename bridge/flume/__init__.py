"""The Flume cloud side: transport, tokens, typed client, query windows and budget."""
