"""FSP (FlashCam software trigger, libfsp) records → FSPConfig, FSPEvent and FSPStatus tables.

libfsp writes an FSP record immediately before the FCIO record it annotates (FSPConfig before
the Config, FSPEvent before an Event/SparseEvent/EventHeader, FSPStatus before a Status); the
pair shares one ``packet_id``. Keys follow daq2lh5: ``swtid_{streamid & 0xFFFF}/config``,
``/event`` (FSPEvent before an Event or SparseEvent), ``/evt_hdr`` (before an EventHeader) and
``/status``. Frame layouts are those of libfsp's ``src/fsp/io_fcio.c`` (ssailer/libfsp), with the
struct layouts of ``flags.h``, ``observables.h``, ``stats.h`` and ``tracemap.h`` (x86-64: 8-byte
``long``, unions of uint8 flags and a uint64 ``is_flagged``):

* FSPConfig (48 frames): trigger config (hwm_min_multiplicity, hwm_prescale_ratio[n_hwm],
  wps_prescale_ratio, wps_coincident_sum_threshold, wps_sum_threshold, wps_prescale_rate,
  hwm_prescale_rate[n_hwm], enabled_flags (FSPWriteFlags, 24 B), pre/post trigger window
  (seconds, nanoseconds: int64 each), wps_ref_flags hwm/ct/wps (8 B each), wps_ref_map_idx[]);
  buffer (max_states, window seconds, nanoseconds); HWM tracemap (format, map[], enabled[],
  label char[n][8]) + fpga_energy_threshold_adc u16[]; CT tracemap + thresholds u16[]; WPS
  tracemap, apply_gain_scaling, sum_window_size, sum_window_start/stop_sample,
  sub_event_sum_threshold f32, gains/thresholds/lowpass f32[], shaping_widths i32[] (written
  with the float writer: raw int32 bytes), dsp_max_margin_front/back, margin_front/back,
  start/stop_sample i32[].
* FSPEvent (11 frames; 10 before libfsp added the prescaled-trace frame): write flags (24 B),
  processor flags (24 B), evt_obs (4 B), hwm_obs (12 B; 16 B + u16[2400] in older libfsp, which
  kept the prescaled traces there), wps_obs (20 B), ct trace_idx i32[m], ct max u16[m],
  sub-event start/stop i32[s], wps_max f32[s], hwm prescaled trace_idx (u16 entries written by
  the int writer: ``4·n`` bytes hold ``n`` indices, then ``n`` further u16 that are not indices).
* FSPStatus (1 frame): the 112-byte ``FSPStats`` struct.

A record without this layout (too few frames, a struct frame too short, array frames of
unequal length) is skipped and counted, with a warning naming file, byte offset, record type
and field — as the FCIO reader tolerates short frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import awkward as ak
import numba
import numpy as np

from ..columns import col, table, vov
from ..stream import Batch
from . import records as R
from .framing import read_i32

CONFIG_FRAMES = 48
EVENT_FRAMES = 11  # current libfsp; 10 before the prescaled-trace frame
EVENT_FRAMES_OLD = 10
STATUS_FRAMES = 1
LABEL_BYTES = 8  # char label[FCIOMaxChannels][8]
MAX_FRAMES = CONFIG_FRAMES

#: FSPWriteFlags: EventFlags (8 B union), TriggerFlags (8 B union), uint32 write, 4 B padding
WRITE_FLAGS = np.dtype(
    {
        "names": [
            "consecutive",
            "extended",
            "event_flags",
            "hwm_multiplicity",
            "hwm_prescaled",
            "wps_sum",
            "wps_coincident_sum",
            "wps_prescaled",
            "ct_multiplicity",
            "trigger_flags",
            "write",
        ],
        "formats": ["u1", "u1", "<u8", "u1", "u1", "u1", "u1", "u1", "u1", "<u8", "<u4"],
        "offsets": [0, 1, 0, 8, 9, 10, 11, 12, 13, 8, 16],
        "itemsize": 24,
    }
)
#: the bytes of WRITE_FLAGS a reader needs (the padding after ``write`` may be absent)
WRITE_FLAGS_MIN = 20
#: FSPProcessorFlags: HWMFlags, WPSFlags, CTFlags (8 B unions each)
PROC_FLAGS = np.dtype({"names": ["hwm", "wps", "ct"], "formats": ["<u8"] * 3, "itemsize": 24})
EVT_OBS = np.dtype([("nconsecutive", "<i4")])
HWM_OBS = np.dtype(
    [
        ("hw_multiplicity", "<i4"),
        ("max_value", "<u2"),
        ("min_value", "<u2"),
        ("sw_multiplicity", "<i4"),
    ]
)
WPS_OBS = np.dtype(
    [
        ("sum_value", "<f4"),
        ("sum_offset", "<i4"),
        ("sum_multiplicity", "<i4"),
        ("max_single_peak_value", "<f4"),
        ("max_single_peak_offset", "<i4"),
    ]
)
#: older libfsp: hwm_obs also held n_prescaled (int) and prescaled_trace_idx u16[2400]
HWM_OBS_OLD_PS = 12  # byte offset of n_prescaled in the older hwm_obs
FSP_STATS = np.dtype(
    [
        ("start_time", "<f8"),
        ("log_time", "<f8"),
        ("dt_logtime", "<f8"),
        ("runtime", "<f8"),
        ("n_read_events", "<i4"),
        ("n_written_events", "<i4"),
        ("n_discarded_events", "<i4"),
        ("dt_n_read_events", "<i4"),
        ("dt_n_written_events", "<i4"),
        ("dt_n_discarded_events", "<i4"),
        ("dt", "<f8"),
        ("dt_rate_read_events", "<f8"),
        ("dt_rate_write_events", "<f8"),
        ("dt_rate_discard_events", "<f8"),
        ("avg_rate_read_events", "<f8"),
        ("avg_rate_write_events", "<f8"),
        ("avg_rate_discard_events", "<f8"),
    ]
)
assert FSP_STATS.itemsize == 112

# FSPEvent frames
EV_WRITE, EV_PROC, EV_EVT, EV_HWM, EV_WPS, EV_CT_IDX, EV_CT_MAX = range(7)
EV_SUB_START, EV_SUB_STOP, EV_SUB_MAX, EV_PS_IDX = range(7, 11)

#: FSPConfig frames, in file order: (name, kind) with kind "i4"/"f4"/"i8" scalars, "flags"
#: (an 8-byte union), "write_flags" (FSPWriteFlags), "s"/"ns" (timestamp halves), or an
#: array dtype ending in "[]" (``"label[]"``: char[8] labels)
CONFIG_LAYOUT: tuple[tuple[str, str], ...] = (
    ("trg_hwm_min_multiplicity", "i4"),
    ("trg_hwm_prescale_ratio", "i4[]"),
    ("trg_wps_prescale_ratio", "i4"),
    ("trg_wps_coincident_sum_threshold", "f4"),
    ("trg_wps_sum_threshold", "f4"),
    ("trg_wps_prescale_rate", "f4"),
    ("trg_hwm_prescale_rate", "f4[]"),
    ("trg_enabled_write_flags", "write_flags"),
    ("trg_pre_trigger_window", "s"),
    ("trg_pre_trigger_window", "ns"),
    ("trg_post_trigger_window", "s"),
    ("trg_post_trigger_window", "ns"),
    ("trg_wps_ref_flags_hwm", "flags"),
    ("trg_wps_ref_flags_ct", "flags"),
    ("trg_wps_ref_flags_wps", "flags"),
    ("trg_wps_ref_map_idx", "i4[]"),
    ("buffer_max_states", "i4"),
    ("buffer_window", "s"),
    ("buffer_window", "ns"),
    ("dsp_hwm_tracemap_format", "i4"),
    ("dsp_hwm_tracemap_indices", "i4[]"),
    ("dsp_hwm_tracemap_enabled", "i4[]"),
    ("dsp_hwm_tracemap_label", "label[]"),
    ("dsp_hwm_fpga_energy_threshold_adc", "u2[]"),
    ("dsp_ct_tracemap_format", "i4"),
    ("dsp_ct_tracemap_indices", "i4[]"),
    ("dsp_ct_tracemap_enabled", "i4[]"),
    ("dsp_ct_tracemap_label", "label[]"),
    ("dsp_ct_thresholds", "u2[]"),
    ("dsp_wps_tracemap_format", "i4"),
    ("dsp_wps_tracemap_indices", "i4[]"),
    ("dsp_wps_tracemap_enabled", "i4[]"),
    ("dsp_wps_tracemap_label", "label[]"),
    ("dsp_wps_apply_gain_scaling", "i4"),
    ("dsp_wps_sum_window_size", "i4"),
    ("dsp_wps_sum_window_start_sample", "i4"),
    ("dsp_wps_sum_window_stop_sample", "i4"),
    ("dsp_wps_sub_event_sum_threshold", "f4"),
    ("dsp_wps_gains", "f4[]"),
    ("dsp_wps_thresholds", "f4[]"),
    ("dsp_wps_lowpass", "f4[]"),
    ("dsp_wps_shaping_widths", "i4[]"),
    ("dsp_wps_dsp_max_margin_front", "i4"),
    ("dsp_wps_dsp_max_margin_back", "i4"),
    ("dsp_wps_margin_front", "i4[]"),
    ("dsp_wps_margin_back", "i4[]"),
    ("dsp_wps_start_sample", "i4[]"),
    ("dsp_wps_stop_sample", "i4[]"),
)
assert len(CONFIG_LAYOUT) == CONFIG_FRAMES

#: FSPConfig table columns in daq2lh5's order: (name, dtype, units, description)
CONFIG_COLUMNS: tuple[tuple[str, str, str | None, str], ...] = (
    ("buffer_max_states", "i4", None, "Maximum number of records the FSP buffer holds"),
    ("buffer_window_nsec", "i8", "ns", "Time window of the FSP buffer"),
    ("trg_hwm_min_multiplicity", "i4", None, "Minimum HWM multiplicity to trigger"),
    ("trg_hwm_prescale_ratio", "i4[]", None, "HWM prescale ratio per HWM trace"),
    ("trg_wps_prescale_ratio", "i4", None, "WPS prescale ratio"),
    ("trg_wps_coincident_sum_threshold", "f4", None, "WPS coincident sum threshold"),
    ("trg_wps_sum_threshold", "f4", None, "WPS standalone sum threshold"),
    ("trg_wps_prescale_rate", "f4", "Hz", "WPS prescale rate"),
    ("trg_hwm_prescale_rate", "f4[]", "Hz", "HWM prescale rate per HWM trace"),
    ("trg_wps_ref_flags_hwm", "i8", None, "HWM flags that make an event a WPS reference"),
    ("trg_wps_ref_flags_ct", "i8", None, "CT flags that make an event a WPS reference"),
    ("trg_wps_ref_flags_wps", "i8", None, "WPS flags that make an event a WPS reference"),
    ("trg_wps_ref_map_idx", "i4[]", None, "Trace indices of the WPS reference channels"),
    ("trg_enabled_write_flags_trigger", "i8", None, "Enabled trigger write flags (bit field)"),
    ("trg_enabled_write_flags_event", "i8", None, "Enabled event write flags (bit field)"),
    ("trg_pre_trigger_window_nsec", "i8", "ns", "Window before a reference event"),
    ("trg_post_trigger_window_nsec", "i8", "ns", "Window after a reference event"),
    ("dsp_wps_tracemap_format", "i4", None, "WPS trace map format (1 idx, 2 map, 3 rawid)"),
    ("dsp_wps_tracemap_indices", "i4[]", None, "Trace indices handled by WPS"),
    ("dsp_wps_tracemap_enabled", "i4[]", None, "Per trace: index into the WPS map or -1"),
    ("dsp_wps_tracemap_label", "label[]", None, "Labels of the WPS traces"),
    ("dsp_wps_gains", "f4[]", None, "WPS gain per trace"),
    ("dsp_wps_thresholds", "f4[]", None, "WPS peak threshold per trace"),
    ("dsp_wps_lowpass", "f4[]", None, "WPS low-pass factor per trace"),
    ("dsp_wps_shaping_widths", "i4[]", None, "WPS shaping width per trace (samples)"),
    ("dsp_wps_margin_front", "i4[]", None, "WPS DSP margin before the window (samples)"),
    ("dsp_wps_margin_back", "i4[]", None, "WPS DSP margin after the window (samples)"),
    ("dsp_wps_start_sample", "i4[]", None, "WPS first sample per trace"),
    ("dsp_wps_stop_sample", "i4[]", None, "WPS last sample per trace"),
    ("dsp_wps_dsp_max_margin_front", "i4", None, "Largest front margin (samples)"),
    ("dsp_wps_dsp_max_margin_back", "i4", None, "Largest back margin (samples)"),
    ("dsp_wps_apply_gain_scaling", "i4", None, "1: gains are applied"),
    ("dsp_wps_sum_window_size", "i4", None, "WPS coincidence window (samples)"),
    ("dsp_wps_sum_window_start_sample", "i4", None, "WPS sum window start (sample)"),
    ("dsp_wps_sum_window_stop_sample", "i4", None, "WPS sum window stop (sample)"),
    ("dsp_wps_sub_event_sum_threshold", "f4", None, "WPS sub-event sum threshold"),
    ("dsp_hwm_tracemap_format", "i4", None, "HWM trace map format (1 idx, 2 map, 3 rawid)"),
    ("dsp_hwm_tracemap_indices", "i4[]", None, "Trace indices handled by HWM"),
    ("dsp_hwm_tracemap_enabled", "i4[]", None, "Per trace: index into the HWM map or -1"),
    ("dsp_hwm_tracemap_label", "label[]", None, "Labels of the HWM traces"),
    ("dsp_hwm_fpga_energy_threshold_adc", "u2[]", "adc", "HWM FPGA energy threshold per trace"),
    ("dsp_ct_tracemap_format", "i4", None, "CT trace map format (1 idx, 2 map, 3 rawid)"),
    ("dsp_ct_tracemap_indices", "i4[]", None, "Trace indices handled by CT"),
    ("dsp_ct_tracemap_enabled", "i4[]", None, "Per trace: index into the CT map or -1"),
    ("dsp_ct_tracemap_label", "label[]", None, "Labels of the CT traces"),
    ("dsp_ct_thresholds", "u2[]", "adc", "CT threshold per trace"),
)
assert len(CONFIG_COLUMNS) == 46  # + packet_id = daq2lh5's 47 fields

STATUS_UNITS = {
    "start_time": "s",
    "log_time": "s",
    "dt_logtime": "s",
    "runtime": "s",
    "dt": "s",
    **{f"{w}_rate_{k}_events": "Hz" for w in ("dt", "avg") for k in ("read", "write", "discard")},
}


class FSPLayoutError(ValueError):
    """An FSP record does not have libfsp's layout; ``field`` names the first bad frame."""

    def __init__(self, field_name: str, reason: str) -> None:
        self.field = field_name
        super().__init__(f"field {field_name}: {reason}")


def record_frames(buf: np.ndarray, off: int, nframes: int) -> list[np.ndarray]:
    """The payloads (uint8 views) of the data frames of the record at ``buf[off]``."""
    out = []
    p = off + 4
    for _ in range(nframes):
        s = read_i32(buf, p)
        out.append(buf[p + 4 : p + 4 + s])
        p += 4 + s
    return out


@numba.njit(cache=True, nogil=True)
def frame_table(buf, offs, nframes, sel, max_frames, starts, sizes):
    """Byte offset and size of the first ``max_frames`` frames of the records ``sel``
    (``starts``/``sizes`` [len(sel), max_frames], -1 where a record has fewer frames)."""
    for i in range(len(sel)):
        r = sel[i]
        p = offs[r] + 4
        for j in range(max_frames):
            if j < nframes[r]:
                s = read_i32(buf, p)
                starts[i, j] = p + 4
                sizes[i, j] = s
                p += 4 + s
            else:
                starts[i, j] = -1
                sizes[i, j] = -1


def _gather(buf: np.ndarray, starts: np.ndarray, nbytes: int) -> np.ndarray:
    """``buf[starts[i] : starts[i] + nbytes]`` for every i, as [len(starts), nbytes] uint8."""
    if len(starts) == 0:
        return np.zeros((0, nbytes), dtype=np.uint8)
    return buf[starts[:, None] + np.arange(nbytes)[None, :]]


def _ragged(buf: np.ndarray, starts: np.ndarray, counts: np.ndarray, itemsize: int, dtype):
    """Offsets and concatenated ``counts[i]`` items of ``itemsize`` bytes from ``starts[i]``."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    nbytes = counts * itemsize
    total = int(nbytes.sum())
    if total == 0:
        return offsets, np.zeros(0, dtype=dtype)
    first = np.repeat(starts - np.concatenate([[0], np.cumsum(nbytes)[:-1]]), nbytes)
    data = buf[first + np.arange(total)]
    return offsets, data.view(dtype)


def _struct(raw: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """[n, k ≥ itemsize] uint8 rows → n structs (rows padded with zeros to the itemsize)."""
    if raw.shape[1] < dtype.itemsize:
        raw = np.concatenate(
            [raw, np.zeros((len(raw), dtype.itemsize - raw.shape[1]), np.uint8)], axis=1
        )
    return np.ascontiguousarray(raw[:, : dtype.itemsize]).view(dtype).reshape(len(raw))


# ----------------------------------------------------------------------------- FSPEvent
def decode_events(
    buf: np.ndarray, offs: np.ndarray, nframes: np.ndarray, sel: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray, list[tuple[int, str, str]]]:
    """Decode the FSPEvent records ``sel``: column arrays of the valid ones (VoVs as
    ``(offsets, content)``), the mask of valid records, and ``(record, field, reason)`` of
    the invalid ones."""
    n = len(sel)
    starts = np.empty((n, EVENT_FRAMES), dtype=np.int64)
    sizes = np.empty((n, EVENT_FRAMES), dtype=np.int64)
    frame_table(buf, offs, nframes, sel, EVENT_FRAMES, starts, sizes)
    nfr = nframes[sel]
    ct_n = sizes[:, EV_CT_IDX] // 4
    checks = (
        ("frames", nfr < EVENT_FRAMES_OLD, f"{EVENT_FRAMES_OLD} or {EVENT_FRAMES} frames needed"),
        ("write_flags", sizes[:, EV_WRITE] < WRITE_FLAGS_MIN, f"< {WRITE_FLAGS_MIN} bytes"),
        ("evt_obs", sizes[:, EV_EVT] < EVT_OBS.itemsize, f"< {EVT_OBS.itemsize} bytes"),
        ("hwm_obs", sizes[:, EV_HWM] < HWM_OBS.itemsize, f"< {HWM_OBS.itemsize} bytes"),
        ("wps_obs", sizes[:, EV_WPS] < WPS_OBS.itemsize, f"< {WPS_OBS.itemsize} bytes"),
        (
            "ct_trace_idx",
            (sizes[:, EV_CT_IDX] % 4 != 0) | (ct_n > R.MAX_CHANNELS),
            "size not a multiple of 4 bytes or above MaxChannels",
        ),
        ("ct_max", sizes[:, EV_CT_MAX] != 2 * ct_n, "not one uint16 per ct trace index"),
        (
            "hwm_prescaled_trace_idx",
            (nfr >= EVENT_FRAMES) & (sizes[:, EV_PS_IDX] % 4 != 0),
            "size not a multiple of 4 bytes",
        ),
    )
    bad = np.zeros(n, dtype=bool)
    problems: list[tuple[int, str, str]] = []
    for name, mask, reason in checks:
        new = mask & ~bad
        for i in np.flatnonzero(new):
            problems.append((int(sel[i]), name, reason))
        bad |= mask
    ok = ~bad
    starts, sizes, nfr, ct_n = starts[ok], sizes[ok], nfr[ok], ct_n[ok]
    wf = _struct(_gather(buf, starts[:, EV_WRITE], WRITE_FLAGS_MIN), WRITE_FLAGS)
    evt = _struct(_gather(buf, starts[:, EV_EVT], EVT_OBS.itemsize), EVT_OBS)
    hwm = _struct(_gather(buf, starts[:, EV_HWM], HWM_OBS.itemsize), HWM_OBS)
    wps = _struct(_gather(buf, starts[:, EV_WPS], WPS_OBS.itemsize), WPS_OBS)
    # prescaled HWM traces: own frame (current libfsp) or inside an older, longer hwm_obs
    new_ps = nfr >= EVENT_FRAMES
    old_ps = ~new_ps & (sizes[:, EV_HWM] >= HWM_OBS_OLD_PS + 4)
    ps_start = np.where(new_ps, starts[:, EV_PS_IDX], starts[:, EV_HWM] + HWM_OBS_OLD_PS + 4)
    ps_n = np.zeros(len(starts), dtype=np.int64)
    ps_n[new_ps] = sizes[new_ps, EV_PS_IDX] // 4
    if old_ps.any():
        n_old = _gather(buf, starts[old_ps, EV_HWM] + HWM_OBS_OLD_PS, 4).view("<i4")[:, 0]
        room = (sizes[old_ps, EV_HWM] - HWM_OBS_OLD_PS - 4) // 2
        ps_n[old_ps] = np.clip(n_old, 0, room)
    cols: dict[str, np.ndarray] = {
        "is_written": wf["write"] != 0,
        "is_extended": wf["extended"] != 0,
        "is_consecutive": wf["consecutive"] != 0,
        "is_hwm_prescaled": wf["hwm_prescaled"] != 0,
        "is_hwm_multiplicity": wf["hwm_multiplicity"] != 0,
        "is_wps_sum": wf["wps_sum"] != 0,
        "is_wps_coincident_sum": wf["wps_coincident_sum"] != 0,
        "is_wps_prescaled": wf["wps_prescaled"] != 0,
        "is_ct_multiplicity": wf["ct_multiplicity"] != 0,
        "obs_wps_sum_value": wps["sum_value"].copy(),
        "obs_wps_sum_offset": wps["sum_offset"].copy(),
        "obs_wps_sum_multiplicity": wps["sum_multiplicity"].copy(),
        "obs_wps_max_peak_value": wps["max_single_peak_value"].copy(),
        "obs_wps_max_peak_offset": wps["max_single_peak_offset"].copy(),
        "obs_hwm_hw_multiplicity": hwm["hw_multiplicity"].copy(),
        "obs_hwm_sw_multiplicity": hwm["sw_multiplicity"].copy(),
        "obs_hwm_max_value": hwm["max_value"].copy(),
        "obs_hwm_min_value": hwm["min_value"].copy(),
        "obs_ct_multiplicity": ct_n.astype(np.int32),
        "obs_ct_trace_idx": _ragged(buf, starts[:, EV_CT_IDX], ct_n, 4, "<i4"),
        "obs_ct_max": _ragged(buf, starts[:, EV_CT_MAX], ct_n, 2, "<u2"),
        "obs_ps_hwm_prescaled_trace_idx": _ragged(buf, ps_start, ps_n, 2, "<u2"),
        "obs_evt_nconsecutive": evt["nconsecutive"].copy(),
    }
    return cols, ok, problems


EVENT_DOCS = {
    "is_written": "FSP wrote this event (trigger or event flags)",
    "is_extended": "The event precedes one or more consecutive events",
    "is_consecutive": "The event may be a retrigger or follow one closely",
    "is_hwm_prescaled": "Written as an HWM prescaled event",
    "is_hwm_multiplicity": "HWM multiplicity threshold reached",
    "is_wps_sum": "WPS standalone sum threshold reached",
    "is_wps_coincident_sum": "WPS coincident sum threshold reached near a reference event",
    "is_wps_prescaled": "Written as a WPS prescaled event",
    "is_ct_multiplicity": "A channel is above its CT threshold",
    "obs_wps_sum_value": "Largest windowed peak sum",
    "obs_wps_sum_offset": "Sample of the largest peak sum",
    "obs_wps_sum_multiplicity": "Channels with a peak above threshold",
    "obs_wps_max_peak_value": "Largest single peak",
    "obs_wps_max_peak_offset": "Sample of the largest single peak",
    "obs_hwm_hw_multiplicity": "Channels with FPGA energy > 0",
    "obs_hwm_sw_multiplicity": "Channels above the FPGA energy threshold",
    "obs_hwm_max_value": "Largest FPGA energy",
    "obs_hwm_min_value": "Smallest FPGA energy",
    "obs_ct_multiplicity": "Channels above their CT threshold",
    "obs_ct_trace_idx": "Trace indices above their CT threshold",
    "obs_ct_max": "Maximum of each channel above its CT threshold",
    "obs_ps_hwm_prescaled_trace_idx": "Trace indices of prescaled HWM channels",
    "obs_evt_nconsecutive": "Number of consecutive events (on the extended event)",
}
EVENT_UNITS = {"obs_hwm_max_value": "adc", "obs_hwm_min_value": "adc", "obs_ct_max": "adc"}


def event_table(pids: np.ndarray, cols: dict) -> ak.Array:
    """The FSPEvent table from :func:`decode_events` columns (rows already selected)."""
    c = {"packet_id": col(pids.astype(np.uint32), doc="Index of the annotated record")}
    for name, value in cols.items():
        units, doc = EVENT_UNITS.get(name), EVENT_DOCS[name]
        c[name] = (
            vov(*value, units=units, doc=doc)
            if isinstance(value, tuple)
            else col(value, units=units, doc=doc)
        )
    return table(c, len(pids))


# ----------------------------------------------------------------------------- FSPConfig
def _scalar(frame: np.ndarray, kind: str, name: str):
    size = {"i4": 4, "f4": 4, "flags": 8, "s": 4, "ns": 4, "write_flags": WRITE_FLAGS_MIN}[kind]
    if len(frame) < size:
        raise FSPLayoutError(name, f"{len(frame)} bytes, at least {size} expected")
    if kind == "i4":
        return int(frame[:4].view("<i4")[0])
    if kind == "f4":
        return float(frame[:4].view("<f4")[0])
    if kind == "flags":
        return int(frame[:8].view("<i8")[0])
    if kind == "write_flags":
        return _struct(frame[None, :], WRITE_FLAGS)[0]
    # timestamp halves: C long (8 bytes on 64-bit Linux; 4 on 32-bit writers)
    return int(frame[:8].view("<i8")[0]) if len(frame) >= 8 else int(frame[:4].view("<i4")[0])


def _array(frame: np.ndarray, kind: str, name: str) -> np.ndarray | list[bytes]:
    if kind == "label[]":
        if len(frame) % LABEL_BYTES:
            raise FSPLayoutError(name, f"{len(frame)} bytes, not a multiple of {LABEL_BYTES}")
        return [bytes(row).split(b"\0", 1)[0] for row in frame.reshape(-1, LABEL_BYTES)]
    dtype = np.dtype("<" + kind[:-2])
    if len(frame) % dtype.itemsize:
        raise FSPLayoutError(name, f"{len(frame)} bytes, not a multiple of {dtype.itemsize}")
    return frame.view(dtype).copy()


def decode_config(buf: np.ndarray, off: int, nframes: int) -> dict:
    """Values of the FSPConfig record at ``buf[off]`` by table column name.

    Raises :class:`FSPLayoutError` naming the first field that does not fit the layout."""
    if nframes < CONFIG_FRAMES:
        missing = CONFIG_LAYOUT[nframes][0]
        raise FSPLayoutError(missing, f"{nframes} of the record's {CONFIG_FRAMES} frames present")
    frames = record_frames(buf, off, CONFIG_FRAMES)
    v: dict = {}
    times: dict[str, list[int]] = {}
    for (name, kind), frame in zip(CONFIG_LAYOUT, frames):
        if kind.endswith("[]"):
            v[name] = _array(frame, kind, name)
        elif kind in ("s", "ns"):
            times.setdefault(name, []).append(_scalar(frame, kind, name))
        elif kind == "write_flags":
            flags = _scalar(frame, kind, name)
            v["trg_enabled_write_flags_trigger"] = int(flags["trigger_flags"].view("<i8"))
            v["trg_enabled_write_flags_event"] = int(flags["event_flags"].view("<i8"))
        else:
            v[name] = _scalar(frame, kind, name)
    for name, (sec, nsec) in times.items():
        v[f"{name}_nsec"] = sec * 1_000_000_000 + nsec
    for unit in ("hwm", "ct", "wps"):
        n = len(v[f"dsp_{unit}_tracemap_indices"])
        if len(v[f"dsp_{unit}_tracemap_label"]) != n:
            raise FSPLayoutError(
                f"dsp_{unit}_tracemap_label",
                f"{len(v[f'dsp_{unit}_tracemap_label'])} labels for {n} mapped traces",
            )
    return v


def _strings(rows: list[list[bytes]]) -> ak.contents.Content:
    """Rows of byte strings as a vector of strings."""
    flat = [s for row in rows for s in row]
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(row) for row in rows], out=offsets[1:])
    soff = np.zeros(len(flat) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in flat], out=soff[1:])
    chars = ak.contents.NumpyArray(
        np.frombuffer(b"".join(flat), dtype=np.uint8), parameters={"__array__": "byte"}
    )
    strings = ak.contents.ListOffsetArray(
        ak.index.Index64(soff), chars, parameters={"__array__": "bytestring"}
    )
    return ak.contents.ListOffsetArray(ak.index.Index64(offsets), strings)


def config_table(rows: list[tuple[int, dict]]) -> ak.Array:
    """The FSPConfig table: one row per FSPConfig record."""
    c = {
        "packet_id": col(
            np.array([p for p, _ in rows], dtype=np.uint32),
            doc="Index of the Config record this FSPConfig belongs to",
        )
    }
    for name, kind, units, doc in CONFIG_COLUMNS:
        values = [v[name] for _, v in rows]
        if kind == "label[]":
            layout = _strings(values)
            layout.parameters["attrs"] = {"description": doc}
            c[name] = layout
        elif kind.endswith("[]"):
            dtype = np.dtype("<" + kind[:-2])
            offsets = np.zeros(len(values) + 1, dtype=np.int64)
            np.cumsum([len(x) for x in values], out=offsets[1:])
            content = np.concatenate(values).astype(dtype) if values else np.zeros(0, dtype)
            c[name] = vov(offsets, content, units=units, doc=doc)
        else:
            c[name] = col(np.array(values, dtype="<" + kind), units=units, doc=doc)
    return table(c, len(rows))


# ----------------------------------------------------------------------------- FSPStatus
def decode_status(buf: np.ndarray, off: int, nframes: int) -> np.ndarray:
    """The ``FSPStats`` struct of the FSPStatus record at ``buf[off]``."""
    if nframes < STATUS_FRAMES:
        raise FSPLayoutError("stats", "the record has no frame")
    frame = record_frames(buf, off, 1)[0]
    if len(frame) < FSP_STATS.itemsize:
        raise FSPLayoutError("stats", f"{len(frame)} bytes, {FSP_STATS.itemsize} expected")
    return frame[: FSP_STATS.itemsize].copy().view(FSP_STATS)[0]


def status_table(rows: list[tuple[int, np.ndarray]]) -> ak.Array:
    """The FSPStatus table: one row per FSPStatus record."""
    stats = np.array([s for _, s in rows], dtype=FSP_STATS)
    c = {
        "packet_id": col(
            np.array([p for p, _ in rows], dtype=np.uint32), doc="Index of the annotated record"
        )
    }
    for name in FSP_STATS.names:
        c[name] = col(stats[name].copy(), units=STATUS_UNITS.get(name))
    return table(c, len(rows))


# ----------------------------------------------------------------------------- collector
@dataclass
class FSPRows:
    """FSP rows decoded but not yet yielded, and the records still waiting for the FCIO record
    they annotate (at the end of a chunk)."""

    path: str
    configs: list[tuple[int, dict, int]] = field(default_factory=list)  # (pid, values, fcid)
    #: FSPEvent rows in file order: (packet ids, columns, keys)
    events: list[tuple[np.ndarray, dict, np.ndarray]] = field(default_factory=list)
    statuses: list[tuple[int, np.ndarray, int]] = field(default_factory=list)  # (pid, row, fcid)
    pending_config: dict | None = None  # an FSPConfig before its Config
    pending_events: tuple[np.ndarray, dict] | None = None  # FSPEvents at the end of a chunk
    event_frames: int = EVENT_FRAMES  # frames of the last FSPEvent (to spot a cut last record)
    nrows: int = 0

    def add_events(self, pids: np.ndarray, cols: dict, keys: np.ndarray) -> None:
        self.events.append((pids, cols, keys))
        self.nrows += len(pids)

    def take(self) -> list[Batch]:
        """The queued rows as batches (one per table); clears the queue."""
        out = []
        if self.configs:
            rows, self.configs = self.configs, []
            keys = np.array([f"swtid_{f}/config" for _, _, f in rows], dtype=object)
            out.append(Batch("FSPConfigDecoder", config_table([(p, v) for p, v, _ in rows]), keys))
        if self.events:
            parts, self.events = self.events, []
            pids = np.concatenate([p for p, _, _ in parts])
            cols = {}
            for name, first in parts[0][1].items():
                if isinstance(first, tuple):
                    cols[name] = _concat_vov([c[name] for _, c, _ in parts])
                else:
                    cols[name] = np.concatenate([c[name] for _, c, _ in parts])
            keys = np.concatenate([k for _, _, k in parts])
            out.append(Batch("FSPEventDecoder", event_table(pids, cols), keys))
        if self.statuses:
            rows, self.statuses = self.statuses, []
            keys = np.array([f"swtid_{f}/status" for _, _, f in rows], dtype=object)
            out.append(Batch("FSPStatusDecoder", status_table([(p, s) for p, s, _ in rows]), keys))
        self.nrows = 0
        return out


def _concat_vov(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    offsets = [parts[0][0]]
    last = parts[0][0][-1]
    for off, _ in parts[1:]:
        offsets.append(off[1:] + last)
        last += off[-1]
    return np.concatenate(offsets), np.concatenate([c for _, c in parts])


def take_rows(cols: dict, mask: np.ndarray) -> dict:
    """The rows ``mask`` of :func:`decode_events` columns."""
    out = {}
    for name, value in cols.items():
        if isinstance(value, tuple):
            offsets, content = value
            counts = np.diff(offsets)[mask]
            new_off = np.zeros(len(counts) + 1, dtype=np.int64)
            np.cumsum(counts, out=new_off[1:])
            keep = np.repeat(mask, np.diff(offsets))
            out[name] = (new_off, content[keep])
        else:
            out[name] = value[mask]
    return out
