"""Synthetic detector data: realistic pulses written in DAQ formats (tests, demo, benchmarks)."""
