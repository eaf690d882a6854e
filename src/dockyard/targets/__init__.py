"""Run a prepared deployment on one engine (local processes, Docker, Ray)."""
