"""Single germanium hits near Q_bb that survive the standard analysis cuts.

Physics-run hits that pass the 0vbb quality flag, are not discharges, pass the two-sided
A/E pulse-shape cut and fall in the analysis window around Q_bb = 2039 keV
([window_low, window_high] keV). Run it on calibration data with --runs "type == 'cal'" to
see the cut-flow on the test files.

This file is data: it is read with ast.literal_eval, never imported or executed.
"""

QUERY = {
    "level": "hits",
    "runs": "type == 'phy'",
    "params": {"window_low": 1930.0, "window_high": 2190.0},
    "cuts": {
        "quality": {
            "expr": "hit.is_valid_0vbb",
            "description": "passes the 0vbb quality flag of the hit tier",
        },
        "no_discharge": {
            "expr": "not hit.is_discharge",
            "description": "not flagged as a discharge",
        },
        "psd": {
            "expr": "hit.AoE_Double_Sided_Cut",
            "description": "passes the two-sided A/E cut (single-site like)",
        },
        "roi": {
            "expr": "window_low <= hit.cuspEmax_ctc_cal <= window_high",
            "description": "inside the analysis window around Q_bb",
        },
    },
    "columns": [
        "cycle.period",
        "cycle.run",
        "hit.timestamp",
        "hit.cuspEmax_ctc_cal",
        "hit.AoE_Classifier",
    ],
}
