"""dsp → hit tier: pygama's build_hit configs as lazy Polars queries."""
