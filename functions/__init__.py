"""Lambda adapters: parse the event, build the run context, call one step, return a small result."""
