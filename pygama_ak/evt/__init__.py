"""hit → event tier: the time coincidence map (``tcm``) and event building (``build_evt``)."""
