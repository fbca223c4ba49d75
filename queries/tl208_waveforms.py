"""Raw waveforms of hits in the 208Tl full-energy line at 2614.5 keV.

Calibration hits within ±half_width keV of 2614.5 keV, with their raw waveform (t0, dt,
values) for pulse-shape studies and templates. The waveforms are read only for the hits that
pass the cuts.

This file is data: it is read with ast.literal_eval, never imported or executed.
"""

QUERY = {
    "level": "hits",
    "runs": "type == 'cal'",
    "params": {"half_width": 5.0},
    "cuts": {
        "valid_cal": "hit.is_valid_cal",
        "tl208_line": "abs(hit.cuspEmax_ctc_cal - 2614.5) < half_width",
    },
    "columns": [
        "hit.cuspEmax_ctc_cal",
        "dsp.tp_0_est",
        "raw.baseline",
        "raw.waveform",
    ],
}
