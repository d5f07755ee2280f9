"""Bulk visits, deleted visits and InService events, generated in date blocks with vectorised numpy.

Model (production's volume): about 75K visits per day at scale 1 over the whole visit window (plus two
weeks of older history that the window filter must drop). A visit belongs to a *person-day* (one person on
one date); every person works a given date with the same probability, so a person never has two
person-days on one date and every same-day, cross-agency visit pair is designed, not accidental:

| person-day | visits | share (single-agency / multi-agency persons) | CVM rows / parents |
|---|---|---|---|
| one visit | 1 | 85 % / 26 % | - |
| split shift at one agency (never a conflict) | 2 | 15 % / 4 % | - |
| two agencies, overlapping shifts (rules 1-6; 8 % identical schedules) | 2 | - / 18 % | 2 / 2 |
| split shift at one agency, one shift elsewhere spanning the split | 3 | - / 16 % | 4 / 3 |
| two agencies overlapping, a later (or earlier) quiet shift at the first | 3 | - / 8 % | 2 / 2 |
| two agencies, back to back (0-3 h gap; rule 7 when far apart) | 2 | - / 22 % | 2 / 2 when rule 7 fires |
| three agencies, all overlapping one another (persons with three records) | 3 | - / 6 % | 6 / 3 |

Production holds ~9.2M CVM rows over ~58M window visits (0.16 per visit) in ~7.9M conflicts (1.16 pairs
per parent); the shares above give about that once every group of the window has been detected (a first
load with `since` at the window start, see the manifest's `first_load_since`): about 13 % of visits are
the primary of a conflict, 1.16 rows per parent. The quiet shift gives conflict groups a visit that is in
no pair, so a change to it re-detects the group's pairs unchanged, as most nightly re-detections are.
Shifts are 4-12 h and start on quarter hours; past visits are mostly completed (some unstarted, missed or
partial), today's depend on the anchor time, future ones are unstarted with NULL visit times and
unbilled. About half of the calls carry GPS text near the patient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from devkit.generate.columns import (
    choose_text,
    digits_matrix,
    gps_matrix,
    int_text,
    join_text,
    quoted_text,
    random_text,
    source_table,
    text_from_matrix,
    uuid_array,
    where,
    with_nulls,
)
from devkit.generate.context import (
    US_PER_DAY,
    US_PER_HOUR,
    US_PER_MINUTE,
    GenContext,
    Stream,
    day_number,
    days_to_utc,
    local_to_utc,
)
from devkit.generate.world import INTERNAL, PAYER, PLACEHOLDER_UUID, World, pick_member

VISITS_PER_DAY = 75_000
HISTORY_MARGIN_DAYS = 14
CHUNK_VISITS = 400_000
DELETED_SHARE = 25.5 / 272  # DELETED_CR rows per CR row over all history (section 4)
DELETED_DELTA_SHARE = 90_000 / 5_400_000  # ~84-97K of the deleted rows in the window per 36 h
INSERVICE_PER_DAY = 1_100  # ~33K events updated in 30 days
# Share of events placed during a visit at another agency of the person: ~166K InService pairs at scale 1.
INSERVICE_OVERLAP_SHARE = 0.09

# Person-day types (module table): one visit, split shift, overlap, back to back, three agencies,
# split shift overlapped by one shift elsewhere, overlap plus a quiet shift.
S1, S2, MO, MS, M3, MOO, MOS = range(7)
VISITS_PER_TYPE = np.array([1, 2, 2, 2, 3, 3, 3])
# Types of a multi-agency person's day and their shares (M3 needs three records, else it is MO).
MULTI_TYPES = np.array([S1, S2, MO, MOO, MOS, MS, M3])
MULTI_SHARES = np.array([0.26, 0.04, 0.18, 0.16, 0.08, 0.22, 0.06])
SINGLE_SPLIT_SHARE = 0.15
# Types whose visits conflict by design (rules 1-6), for the manifest's share.
OVERLAP_TYPES = (MO, M3, MOO, MOS)
COMPLETED, UNSTARTED, MISSED, PARTIAL_START, PARTIAL_END = range(5)
QUARTER = 15 * US_PER_MINUTE
MISSED_REASONS = (
    "Caregiver No Show",
    "Patient Hospitalized",
    "Patient Refused Service",
    "Patient Not Home",
    "Caregiver Sick",
)
_SHIFT_HOURS = np.array([4, 5, 6, 7, 8, 9, 10, 11, 12])
_SHIFT_WEIGHTS = np.array([0.30, 0.08, 0.12, 0.05, 0.22, 0.03, 0.06, 0.02, 0.12])


def expected_visits_per_person_day(world: World) -> np.ndarray:
    """Mean visits of one person-day of each person (the type shares of the module table)."""
    multi_two = 0.23 + 2 * (0.04 + 0.45 + 0.25 + 0.03)
    multi_three = 0.23 + 2 * (0.04 + 0.45 + 0.25) + 3 * 0.03
    return np.where(world.person_multi, np.where(world.person_nrec >= 3, multi_three, multi_two), 1.15)


@dataclass(frozen=True)
class VisitPlan:
    first_day: int
    last_day: int
    work_probability: float  # chance that a person works on a given date
    chunks: tuple[tuple[int, int], ...]  # inclusive day ranges

    @property
    def days(self) -> int:
        return self.last_day - self.first_day + 1


def plan_visits(ctx: GenContext, world: World) -> VisitPlan:
    first = day_number(ctx.window_start) - HISTORY_MARGIN_DAYS
    last = day_number(ctx.window_end)
    per_day = VISITS_PER_DAY * ctx.scale
    q = per_day / float(expected_visits_per_person_day(world).sum())
    if q >= 1:
        raise ValueError(f"scale {ctx.scale} needs more persons than the world has (q={q:.2f})")
    block = max(1, int(CHUNK_VISITS // max(per_day, 1.0)))
    chunks = tuple((lo, min(lo + block - 1, last)) for lo in range(first, last + 1, block))
    return VisitPlan(first, last, q, chunks)


@dataclass
class VisitChunk:
    visits: pa.Table
    deleted: pa.Table
    inservice: pa.Table
    stats: dict[str, int]
    first_update_us: int  # the earliest "Visit Updated Timestamp" of the chunk (local wall clock)


def _shift_quarters(rng: np.random.Generator, n: int) -> np.ndarray:
    hours = rng.choice(_SHIFT_HOURS, n, p=_SHIFT_WEIGHTS / _SHIFT_WEIGHTS.sum())
    extra = np.where((rng.random(n) < 0.2) & (hours < 12), rng.integers(1, 4, n), 0)
    return hours * 4 + extra


def _uniform_int(rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Integers uniform in [low, high] (inclusive), element-wise."""
    return low + (rng.random(len(low)) * (high - low + 1)).astype(np.int64)


def _gps_text(
    rng: np.random.Generator, present: np.ndarray, lat: np.ndarray, lon: np.ndarray, has_call: np.ndarray
) -> pa.Array:
    """Call GPS text: "lat,lon" near the patient where present; NULL, '' or ',' when the call has none."""
    n = len(present)
    chars = gps_matrix(lat + rng.normal(0, 0.0004, n), lon + rng.normal(0, 0.0005, n))
    # A few devices send the pair in double quotes (D6 strips them).
    text = quoted_text(chars, present & (rng.random(n) < 0.01), present)
    u = rng.random(n)
    missing = choose_text([None, "", ","], np.where(has_call, np.select([u < 0.7, u < 0.85], [0, 1], 2), 0))
    return where(present, text, missing)


def visit_chunk(
    ctx: GenContext,
    world: World,
    plan: VisitPlan,
    chunk: int,
    *,
    first_app_visit_id: int,
    first_app_deleted_id: int,
    first_app_inservice_id: int,
) -> VisitChunk:
    day_lo, day_hi = plan.chunks[chunk]
    rng = ctx.rng(Stream.VISITS, chunk)
    pd_day, pd_person = person_days(rng, world, plan.work_probability, day_lo, day_hi)
    bulk = expand_person_days(
        ctx, world, rng, pd_day, pd_person, pd_type=None, first_app_visit_id=first_app_visit_id
    )
    deleted = _deleted_rows(ctx, chunk, bulk.visits, bulk.updated, first_app_deleted_id)
    inservice = inservice_events(
        ctx,
        world,
        chunk,
        day_lo,
        day_hi,
        first_app_inservice_id,
        candidates=bulk.inservice_candidates(),
        visit_record=bulk.record,
        visit_start=bulk.visit_start,
        visit_quarters=bulk.quarters,
        other_record=bulk.other_record,
    )
    stats = dict(bulk.stats)
    stats["deleted"] = deleted.num_rows
    stats["inservice"] = inservice.num_rows
    first_update = int(bulk.updated.min()) if len(bulk.updated) else ctx.anchor_local_us
    return VisitChunk(bulk.visits, deleted, inservice, stats, first_update)


def person_days(
    rng: np.random.Generator, world: World, probability: float, day_lo: int, day_hi: int
) -> tuple[np.ndarray, np.ndarray]:
    """(day, person) of every person-day in [day_lo, day_hi]: each independently with `probability`."""
    n_persons = world.n_persons
    n_days = day_hi - day_lo + 1
    hits = np.flatnonzero(rng.random((n_days, n_persons), dtype=np.float32) < probability)
    return day_lo + hits // n_persons, hits % n_persons


@dataclass
class Expanded:
    """Visits built from person-days, with the arrays the deleted rows and InService events need."""

    visits: pa.Table
    updated: np.ndarray  # local wall-clock microseconds of "Visit Updated Timestamp"
    record: np.ndarray
    other_record: np.ndarray  # the person's record at the day's second agency
    slot: np.ndarray
    vtype: np.ndarray
    state: np.ndarray
    visit_start: np.ndarray
    quarters: np.ndarray
    stats: dict[str, int]

    def inservice_candidates(self) -> np.ndarray:
        """First visits of days at two agencies, completed: an event during one overlaps it."""
        return np.flatnonzero(
            (self.slot == 0) & np.isin(self.vtype, (MO, MS, MOO, MOS)) & (self.state == COMPLETED)
        )


def _schedules(rng: np.random.Generator, pd_type: np.ndarray) -> tuple[np.ndarray, ...]:
    """Scheduled (start, duration) in quarter hours from local midnight of each person-day's visits 0-2,
    and the types, where a quiet shift did not fit in the day (the day becomes a plain overlap)."""
    npd = len(pd_type)
    last_quarter = 24 * 4 - 1
    start0 = np.where(
        pd_type == S2,
        rng.integers(24, 41, npd),
        np.clip(np.rint(rng.normal(36, 9, npd)), 24, 80).astype(np.int64),
    )
    dur0 = np.where(pd_type == S2, rng.integers(16, 21, npd), _shift_quarters(rng, npd))
    dur1 = np.where(pd_type == S2, rng.integers(16, 21, npd), rng.integers(16, 33, npd))
    gap = np.where(
        pd_type == MS,
        np.where(rng.random(npd) < 0.05, 0, rng.integers(1, 13, npd)),
        rng.integers(2, 9, npd),
    )
    sequential = np.isin(pd_type, (S2, MS))
    # Every visit of the person-day starts on its date (its "Visit Date"); shifts may end after midnight.
    start0 = np.where(sequential, np.minimum(start0, last_quarter - dur0 - gap), start0)
    overlap_start = start0 + _uniform_int(rng, -(dur1 - 1), dur0 - 1)
    identical = np.isin(pd_type, (MO, M3)) & (rng.random(npd) < 0.08)
    same_actual = identical & (rng.random(npd) < 0.5)
    start1 = np.where(sequential, start0 + dur0 + gap, overlap_start)
    # Clipping to [0, last quarter] keeps an overlapping start overlapping: it moves towards visit 0.
    start1 = np.clip(np.where(identical, start0, start1), 0, last_quarter)
    dur1 = np.where(identical, dur0, dur1)
    dur2 = rng.integers(16, 33, npd)
    # Three agencies: visit 2 overlaps the common part of visits 0 and 1, so all three pairs conflict.
    common_lo = np.maximum(start0, start1)
    common_hi = np.minimum(start0 + dur0, start1 + dur1)
    start2 = np.clip(_uniform_int(rng, common_lo - (dur2 - 1), common_hi - 1), 0, last_quarter)

    # Split shift overlapped by one shift elsewhere: X1 = visit 0, X2 = visit 2 (same agency, after a
    # 30 min - 2 h break), Y = visit 1 from inside X1 to inside X2 (at least 105 min into each, 4-12 h).
    moo = pd_type == MOO
    x1 = rng.integers(16, 25, npd)
    x2 = rng.integers(16, 21, npd)
    split = rng.integers(2, 9, npd)
    moo_start = np.minimum(start0, last_quarter - x1 - split)
    into_x1 = _uniform_int(rng, np.full(npd, 7), x1 - 1)
    into_x2 = np.minimum(_uniform_int(rng, np.full(npd, 7), x2 - 1), 48 - into_x1 - split)
    start0 = np.where(moo, moo_start, start0)
    dur0 = np.where(moo, x1, dur0)
    start1 = np.where(moo, moo_start + x1 - into_x1, start1)
    dur1 = np.where(moo, into_x1 + split + into_x2, dur1)
    start2 = np.where(moo, moo_start + x1 + split, start2)
    dur2 = np.where(moo, x2, dur2)

    # Overlap plus a quiet shift at the first agency, 2.5-4 h clear of both (so rule 7 cannot fire):
    # after them when it starts by midnight, else before them, else the day is a plain overlap.
    mos = pd_type == MOS
    quiet = rng.integers(16, 21, npd)
    clear = rng.integers(10, 17, npd)
    after = np.maximum(start0 + dur0, start1 + dur1) + clear
    before = np.minimum(start0, start1) - clear - quiet
    fits_after = after <= last_quarter
    start2 = np.where(mos, np.where(fits_after, after, before), start2)
    dur2 = np.where(mos, quiet, dur2)
    pd_type = np.where(mos & ~fits_after & (before < 0), MO, pd_type)
    return start0, dur0, start1, dur1, start2, dur2, same_actual, pd_type


def multi_day_types(rng: np.random.Generator, world: World, pd_person: np.ndarray) -> np.ndarray:
    """The type of each person-day (module table): by the person's records and a draw."""
    n = len(pd_person)
    multi = world.person_multi[pd_person]
    nrec = world.person_nrec[pd_person]
    u = rng.random(n)
    pick = np.searchsorted(np.cumsum(MULTI_SHARES), u, side="right")
    multi_type = MULTI_TYPES[np.minimum(pick, len(MULTI_TYPES) - 1)]
    multi_type = np.where((multi_type == M3) & (nrec < 3), MO, multi_type)
    return np.where(multi, multi_type, np.where(u < 1 - SINGLE_SPLIT_SHARE, S1, S2))


def expand_person_days(
    ctx: GenContext,
    world: World,
    rng: np.random.Generator,
    pd_day: np.ndarray,
    pd_person: np.ndarray,
    *,
    pd_type: np.ndarray | None,
    first_app_visit_id: int,
    stamps: tuple[int, int] | None = None,
) -> Expanded:
    """The visits of the given person-days: of their drawn types, or of `pd_type` when given.

    `stamps` = (after, until) in local wall-clock microseconds puts every "Visit Updated Timestamp" in
    (after, until] (the next day's bookings of `mutate`); by default it follows the visit's life.
    """
    npd = len(pd_day)
    nrec = world.person_nrec[pd_person]
    if pd_type is None:
        pd_type = multi_day_types(rng, world, pd_person)
    k0 = (rng.random(npd) * nrec).astype(np.int64)
    k1 = (k0 + 1 + (rng.random(npd) * np.maximum(nrec - 1, 1)).astype(np.int64)) % nrec
    start0, dur0, start1, dur1, start2, dur2, same_actual, pd_type = _schedules(rng, pd_type)

    # --- expand to visits
    nv = VISITS_PER_TYPE[pd_type]
    n = int(nv.sum())
    vpd = np.repeat(np.arange(npd), nv)
    slot = np.arange(n) - np.repeat(np.cumsum(nv) - nv, nv)
    vtype = pd_type[vpd]
    second = (slot == 1) & np.isin(vtype, (MO, MS, MOO, MOS))
    k = np.where(vtype == M3, slot, np.where(second, k1[vpd], k0[vpd]))
    record = world.person_rec_start[pd_person[vpd]] + k
    provider = world.record_provider[record]
    day = pd_day[vpd]
    sq = np.choose(slot, [start0[vpd], start1[vpd], start2[vpd]])
    dq = np.choose(slot, [dur0[vpd], dur1[vpd], dur2[vpd]])
    day_us = day * US_PER_DAY
    sched_start = day_us + sq * QUARTER
    sched_end = sched_start + dq * QUARTER

    # --- state: past mostly completed; today by the anchor time; future unstarted
    u = rng.random(n)
    past_state = np.select(
        [u < 0.93, u < 0.96, u < 0.99, u < 0.997], [COMPLETED, UNSTARTED, MISSED, PARTIAL_START], PARTIAL_END
    )
    today_state = np.where(sched_end + 30 * US_PER_MINUTE <= ctx.anchor_local_us, COMPLETED, UNSTARTED)
    state = np.where(
        day < ctx.anchor_day, past_state, np.where(day == ctx.anchor_day, today_state, UNSTARTED)
    )

    jit_s = rng.integers(-10, 11, n)
    jit_e = rng.integers(-10, 16, n)
    copy = np.flatnonzero((slot == 1) & same_actual[vpd])
    jit_s[copy] = jit_s[copy - 1]
    jit_e[copy] = jit_e[copy - 1]
    visit_start = sched_start + jit_s * US_PER_MINUTE
    visit_end = np.maximum(sched_end + jit_e * US_PER_MINUTE, visit_start + 30 * US_PER_MINUTE)
    has_vs = np.isin(state, (COMPLETED, PARTIAL_START))
    has_ve = np.isin(state, (COMPLETED, PARTIAL_END))
    has_in = has_vs & (rng.random(n) < 0.9)
    has_out = (has_ve & (state == COMPLETED) & (rng.random(n) < 0.88)) | (
        (state == PARTIAL_END) & (rng.random(n) < 0.5)
    )
    call_in = visit_start + rng.integers(0, 60, n) * 1_000_000
    call_out = visit_end + rng.integers(0, 60, n) * 1_000_000

    # --- patient and everything that hangs off it
    patient = pick_member(rng, provider, world.patient_csr)
    lat = world.patient_lat[patient]
    lon = world.patient_lon[patient]
    gps_in_ok = has_in & (rng.random(n) < 0.55)
    gps_out_ok = has_out & (rng.random(n) < 0.55)
    u = rng.random(n)
    device = np.where(
        has_out,
        np.where(gps_out_ok | (u < 0.2), 0, np.where(u < 0.8, 1, 2)),
        np.where(u < 0.8, 3, 2),
    )
    ctype = world.patient_contract_type[patient]
    internal = ctype == INTERNAL
    payer_only = ctype == PAYER
    payer = world.patient_payer[patient]
    contract = world.patient_contract[patient]
    service = world.patient_service[patient]

    # --- billing
    u = rng.random(n)
    bill_type = np.select([u < 0.88, u < 0.94, u < 0.99], [0, 1, 2], 3)
    rate = np.choose(
        bill_type,
        [
            rng.integers(2500, 3001, n) / 100,
            rng.integers(18000, 26001, n) / 100,
            rng.integers(6000, 15001, n) / 100,
            np.full(n, np.nan),
        ],
    )
    invoice_day = day + rng.integers(3, 31, n)
    billed = (state == COMPLETED) & (invoice_day < ctx.anchor_day) & (rng.random(n) < 0.95) & (bill_type < 3)
    hours = np.round((sched_end - sched_start) / US_PER_HOUR, 2)
    total = np.round(np.where(bill_type == 0, hours * rate, rate), 2)

    # --- last update: after the visit (or its invoice), never after the anchor
    anchor_us = ctx.anchor_local_us
    base = np.where(has_ve, visit_end, sched_end)
    updated = base + (rng.exponential(8.0, n) * US_PER_HOUR).astype(np.int64)
    updated = np.where(
        billed,
        np.maximum(updated, invoice_day * US_PER_DAY + rng.integers(8 * 3600, 21 * 3600, n) * 1_000_000),
        updated,
    )
    booked_ahead = (day >= ctx.anchor_day) & (state == UNSTARTED)
    updated = np.where(
        booked_ahead, anchor_us - (rng.exponential(25.0, n) * US_PER_DAY).astype(np.int64), updated
    )
    late = updated >= anchor_us
    updated = np.where(late, anchor_us - rng.integers(60, 6 * 3600, n) * 1_000_000, updated)
    if stamps is not None:
        after, until = stamps
        updated = after + rng.integers(1, max(2, (until - after) // 1_000_000 + 1), n) * 1_000_000
    updated -= updated % 1_000_000
    replicated = np.minimum(updated + rng.integers(1, 600, n) * 1_000_000, anchor_us)

    visit_id = uuid_array(rng, n)
    visits = source_table(
        "FACTVISITCALLPERFORMANCE_CR",
        {
            "Visit Id": visit_id,
            "Application Visit Id": text_from_matrix(digits_matrix(first_app_visit_id + np.arange(n), 9)),
            "Visit Date": days_to_utc(day),
            "Scheduled Start Time": local_to_utc(sched_start),
            "Scheduled End Time": local_to_utc(sched_end),
            "Visit Start Time": local_to_utc(visit_start, has_vs),
            "Visit End Time": local_to_utc(visit_end, has_ve),
            "Call In Time": local_to_utc(call_in, has_in),
            "Call Out Time": local_to_utc(call_out, has_out),
            "Call In GPS Coordinates": _gps_text(rng, gps_in_ok, lat, lon, has_in),
            "Call Out GPS Coordinates": _gps_text(rng, gps_out_ok, lat, lon, has_out),
            "Call Out Device Type": choose_text(["Mobile App", "IVR", "", None], device),
            "Caregiver Id": text_from_matrix(world.record_id[record]),
            "Application Caregiver Id": world.record_app[record],
            "Provider Id": text_from_matrix(world.provider_id[provider]),
            "Application Provider Id": int_text(world.provider_app[provider]),
            "Office Id": text_from_matrix(world.office_id[world.patient_office[patient]]),
            "Application Office Id": int_text(world.office_app[world.patient_office[patient]]),
            "Patient Id": text_from_matrix(world.patient_global_id[patient]),
            "Application Patient Id": world.patient_app[patient],
            "Provider Patient Id": text_from_matrix(world.patient_p_id[patient]),
            "Application Provider Patient Id": world.patient_p_app[patient],
            "Payer Patient Id": text_from_matrix(world.patient_pa_id[patient], ~internal),
            "Application Payer Patient Id": pa.array(world.patient_pa_app[patient], mask=internal),
            "Payer Id": where(
                internal,
                join_text("00000000-0000-0000-0000-", int_text(world.provider_app[provider], 12)),
                text_from_matrix(world.payer_id[payer]),
            ),
            "Application Payer Id": np.where(internal, 0, world.payer_app[payer]),
            "Contract Id": where(payer_only, PLACEHOLDER_UUID, text_from_matrix(world.contract_id[contract])),
            "Application Contract Id": where(payer_only, "0", int_text(world.contract_app[contract])),
            "Service Code Id": text_from_matrix(world.service_id[service]),
            "Application Service Code Id": world.service_app[service],
            "Bill Type": choose_text(["Hourly", "Daily", "Visit", None], bill_type),
            "Billed": choose_text(["no", "yes"], billed.astype(np.int64)),
            "Billed Hours": pa.array(hours, mask=~billed),
            "Billed Rate": pa.array(rate, mask=~billed),
            "Total Billed Amount": pa.array(total, mask=~billed),
            "Bill Rate Non-Billed": pa.array(rate, mask=np.isnan(rate)),
            "Invoice Date": days_to_utc(invoice_day, billed),
            "Is Missed": state == MISSED,
            "Missed Visit Reason": with_nulls(random_text(rng, MISSED_REASONS, n), state == MISSED),
            "Visit Updated Timestamp": local_to_utc(updated),
            "Visit Updated User Id": text_from_matrix(world.user_id[rng.integers(0, len(world.user_id), n)]),
            "Permanent Deleted": np.zeros(n, dtype=bool),
            "External Source": pa.array(["HHAX"] * n),
            "ENVIRONMENT": pa.array(["PROD:APP"] * n),
            "Updated Datatimestamp": local_to_utc(replicated),
        },
    )
    usable = world.provider_usable[provider] & world.record_usable_ssn[record]
    in_window = (day >= day_number(ctx.window_start)) & (day <= day_number(ctx.window_end))
    designed = np.isin(vtype, OVERLAP_TYPES) & ~((vtype == MOS) & (slot == 2))
    stats = {
        "visits": n,
        "person_days": npd,
        "visits_in_window": int(in_window.sum()),
        "delta_visits": int((updated >= ctx.cutoff_local_us).sum()),
        "designed_overlap_visits": int((designed & usable & in_window).sum()),
        "back_to_back_visits": int((np.isin(vtype, (MS,)) & usable & in_window).sum()),
        "completed": int((state == COMPLETED).sum()),
        "unstarted": int((state == UNSTARTED).sum()),
        "missed": int((state == MISSED).sum()),
        "partial": int(np.isin(state, (PARTIAL_START, PARTIAL_END)).sum()),
    }
    return Expanded(
        visits=visits,
        updated=updated,
        record=record,
        other_record=world.person_rec_start[pd_person[vpd]] + k1[vpd],
        slot=slot,
        vtype=vtype,
        state=state,
        visit_start=visit_start,
        quarters=dq,
        stats=stats,
    )


def _deleted_rows(
    ctx: GenContext, chunk: int, visits: pa.Table, updated: np.ndarray, first_app_id: int
) -> pa.Table:
    """Permanently deleted visits: copies of a share of the chunk's visits under new ids (section 4)."""
    rng = ctx.rng(Stream.DELETED, chunk)
    pick = np.flatnonzero(rng.random(visits.num_rows) < DELETED_SHARE)
    m = len(pick)
    rows = visits.take(pa.array(pick))
    # Deletions are recent for a share of them (the 36-hour delta sees ~84-97K at scale 1).
    recent = rng.random(m) < DELETED_DELTA_SHARE
    deleted_at = np.where(
        recent,
        ctx.anchor_local_us - rng.integers(60, 36 * 3600, m) * 1_000_000,
        updated[pick],
    )
    replace = {
        "Visit Id": uuid_array(rng, m),
        "Application Visit Id": int_text(first_app_id + np.arange(m)),
        "Permanent Deleted": pa.array(np.ones(m, dtype=bool)),
        "Visit Updated Timestamp": local_to_utc(deleted_at),
        "Updated Datatimestamp": local_to_utc(deleted_at),
    }
    for name, array in replace.items():
        rows = rows.set_column(rows.schema.get_field_index(name), name, array)
    return rows.rename_columns(visits.column_names)


def inservice_events(
    ctx: GenContext,
    world: World,
    chunk: int,
    day_lo: int,
    day_hi: int,
    first_app_id: int,
    *,
    candidates: np.ndarray,
    visit_record: np.ndarray,
    visit_start: np.ndarray,
    visit_quarters: np.ndarray,
    other_record: np.ndarray,
    stamps: tuple[int, int] | None = None,
    total: int | None = None,
) -> pa.Table:
    """Training sessions: most at random, a share during a visit the same person makes at another agency.

    `stamps` = (after, until), local wall-clock microseconds: every "Updated Date" in (after, until];
    `total` events instead of the scale's number for the days.
    """
    rng = ctx.rng(Stream.INSERVICE, chunk)
    if total is None:
        total = int(rng.poisson(INSERVICE_PER_DAY * ctx.scale * (day_hi - day_lo + 1)))
    n_overlap = min(len(candidates), round(total * INSERVICE_OVERLAP_SHARE))
    n_random = total - n_overlap

    chosen = rng.choice(candidates, n_overlap, replace=False) if n_overlap else np.zeros(0, np.int64)
    # During the visit: start on a quarter hour inside it, 1-2 h long, at the person's other agency.
    visit_q0 = (visit_start[chosen] + QUARTER - 1) // QUARTER
    ov_start = (
        visit_q0 + _uniform_int(rng, np.zeros(n_overlap, np.int64), np.maximum(visit_quarters[chosen] - 4, 0))
    ) * QUARTER
    ov_record = other_record[chosen]
    assert not np.any(ov_record == visit_record[chosen])

    rnd_record = rng.integers(0, len(world.record_provider), n_random)
    rnd_day = rng.integers(day_lo, day_hi + 1, n_random)
    rnd_start = rnd_day * US_PER_DAY + rng.integers(32, 65, n_random) * QUARTER

    record = np.concatenate([ov_record, rnd_record])
    start = np.concatenate([ov_start, rnd_start])
    end = start + np.concatenate([rng.integers(4, 9, n_overlap), rng.integers(4, 13, n_random)]) * QUARTER
    provider = world.record_provider[record]
    office = pick_member(rng, provider, world.office_csr)
    m = len(record)
    anchor_us = ctx.anchor_local_us
    updated = end + (rng.exponential(48.0, m) * US_PER_HOUR).astype(np.int64)
    updated = np.where(
        start >= anchor_us, anchor_us - (rng.exponential(20.0, m) * US_PER_DAY).astype(np.int64), updated
    )
    updated = np.where(updated >= anchor_us, anchor_us - rng.integers(60, 6 * 3600, m) * 1_000_000, updated)
    if stamps is not None:
        after, until = stamps
        updated = after + rng.integers(1, max(2, (until - after) // 1_000_000 + 1), m) * 1_000_000
    updated -= updated % 1_000_000
    return source_table(
        "FACTCAREGIVERINSERVICE",
        {
            "Application Caregiver Inservice Id": first_app_id + np.arange(m, dtype=np.int64),
            "Caregiver Id": text_from_matrix(world.record_id[record]),
            "Provider Id": text_from_matrix(world.provider_id[provider]),
            "Office Id": text_from_matrix(world.office_id[office]),
            "Inservice start date": local_to_utc(start),
            "Inservice end date": local_to_utc(end),
            "Updated Date": local_to_utc(updated),
            "Environment": pa.array(["PROD:APP"] * m),
        },
    )
