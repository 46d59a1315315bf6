"""Work on a Ray cluster: the connection (checked once, shared by every runner of a command),
and photo passes read as Ray tasks."""
