"""Real servers for the tests, the lab and the benchmarks: each starts on a free port and stops by PID."""
