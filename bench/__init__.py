"""Benchmarks: a bulk seeder for a program at scale and a load-test runner."""
