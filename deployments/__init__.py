"""Ray Serve: the HTTP API (FastAPI ingress), its schemas, error mapping and the app builder."""
