"""CAEN CoMPASS binary files (DT57xx digitizers): :class:`.stream.CompassStream`."""
