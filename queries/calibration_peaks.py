"""Germanium hits in the strong 228Th-chain lines of a calibration run.

Valid, unsaturated, calibrated hits within ±half_width keV of the 208Tl / 212Bi lines at
583.2, 727.3, 860.6, 1620.5, 2103.5 (2614.5 single escape) and 2614.5 keV: the input of
energy-resolution fits and of the A/E calibration peaks.

This file is data: it is read with ast.literal_eval, never imported or executed.
"""

QUERY = {
    "level": "hits",
    "runs": "type == 'cal'",
    "params": {"half_width": 10.0},
    "cuts": {
        "valid_cal": {
            "expr": "hit.is_valid_cal",
            "description": "passes the quality cuts of the calibration (hit tier flag)",
        },
        "not_saturated": {
            "expr": "not hit.is_saturated",
            "description": "the waveform did not saturate the digitiser",
        },
        "above_threshold": {
            "expr": "hit.cuspEmax_ctc_cal > 25",
            "description": "calibrated energy above 25 keV",
        },
        "in_peak": {
            "expr": "abs(hit.cuspEmax_ctc_cal - 583.2) < half_width"
                    " or abs(hit.cuspEmax_ctc_cal - 727.3) < half_width"
                    " or abs(hit.cuspEmax_ctc_cal - 860.6) < half_width"
                    " or abs(hit.cuspEmax_ctc_cal - 1620.5) < half_width"
                    " or abs(hit.cuspEmax_ctc_cal - 2103.5) < half_width"
                    " or abs(hit.cuspEmax_ctc_cal - 2614.5) < half_width",
            "description": "within half_width keV of one of the lines",
        },
    },
    "columns": [
        "cycle.period",
        "cycle.run",
        "hit.timestamp",
        "hit.cuspEmax_ctc_cal",
        "hit.trapEmax_ctc_cal",
        "hit.AoE_Classifier",
        "dsp.tp_0_est",
    ],
}
