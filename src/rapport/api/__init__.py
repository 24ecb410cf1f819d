"""HTTP and WebSocket API: thin routes that parse, call one service, and shape the answer."""
