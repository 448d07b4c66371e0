"""Cases: the case record built from agency events, and its timeline."""
