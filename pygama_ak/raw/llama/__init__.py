"""llamaDAQ files (Struck SIS3316 digitizers): :class:`.stream.LlamaStream`."""
