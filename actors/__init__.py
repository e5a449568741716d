"""Ray actors and tasks: resource actors (technicians, bays) and the solve coordinator."""
