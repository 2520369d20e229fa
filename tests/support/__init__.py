"""Local stand-ins for outside services, shared by integration tests and benchmarks."""
