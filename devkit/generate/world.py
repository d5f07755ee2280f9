"""The bulk population: regions, agencies, offices, payers, contracts, patients and caregivers.

Sizes follow production's at scale 1 (1,351 providers, ~3.3K offices, 133 active payers,
~13.5K contracts, ~6K service codes, ~105K patients, ~650K persons) and scale linearly, with small floors
so that a tiny scale still has several agencies per region. A person is one SSN; 15 % of persons are
multi-agency (two or three caregiver records at different agencies of the same region), which is what
makes conflicts possible. DIMPAYERPROVIDER has 66K rows at scale 1 over ~20K distinct payer/agency
pairs (the ~20K rows of payer_provider_reminders). Everything else about a visit's context (office,
payer, contract, service code) is a property of its patient, so it is drawn once per patient here, not
once per visit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from devkit.generate.columns import (
    choose_text,
    int_text,
    join_text,
    random_text,
    source_table,
    take,
    text_from_matrix,
    uuid_matrix,
    where,
    with_nulls,
)
from devkit.generate.context import US_PER_DAY, GenContext, Stream, local_to_utc

# name (county), city, centre latitude, centre longitude, share of agencies and persons, first ZIP.
REGIONS: tuple[tuple[str, str, float, float, float, int], ...] = (
    ("Bronx", "Bronx", 40.8448, -73.8648, 0.17, 10451),
    ("Kings", "Brooklyn", 40.6500, -73.9496, 0.22, 11201),
    ("Queens", "Jamaica", 40.7282, -73.7949, 0.17, 11432),
    ("New York", "New York", 40.7831, -73.9712, 0.14, 10001),
    ("Westchester", "Yonkers", 41.1220, -73.8500, 0.10, 10701),
    ("Albany", "Albany", 42.6526, -73.7562, 0.05, 12203),
    ("Onondaga", "Syracuse", 42.9500, -76.1474, 0.05, 13202),
    ("Erie", "Buffalo", 42.8864, -78.8500, 0.05, 14201),
    ("Broome", "Binghamton", 42.0987, -75.9180, 0.05, 13901),
)
# As in production, GPS points cluster in NY: lat 40.5-43, lon -73.7 to -78.9.
LAT_RANGE = (40.5, 43.0)
LON_RANGE = (-78.9, -73.7)

FIRST_NAMES = (
    "Maria",
    "Rosa",
    "Ana",
    "Fatima",
    "Grace",
    "Mei",
    "Olga",
    "Aisha",
    "Carmen",
    "Joy",
    "Nadia",
    "Lucia",
    "Esther",
    "Yolanda",
    "Patricia",
    "Jean",
    "Marie",
    "Sonia",
    "Irina",
    "Blessing",
    "Hui",
    "Leticia",
    "Juan",
    "Kwame",
    "Ivan",
    "Samuel",
    "Jose",
    "David",
    "Ali",
    "Wei",
)
LAST_NAMES = (
    "Rodriguez",
    "Garcia",
    "Martinez",
    "Johnson",
    "Williams",
    "Brown",
    "Chen",
    "Wong",
    "Okafor",
    "Mensah",
    "Ivanova",
    "Petrov",
    "Cohen",
    "Levy",
    "Rivera",
    "Torres",
    "Jean-Baptiste",
    "Pierre",
    "Singh",
    "Khan",
    "Ahmed",
    "Smith",
    "Lee",
    "Kim",
    "Nguyen",
    "Diaz",
    "Reyes",
    "Cruz",
    "Morales",
    "Ortiz",
)
STREETS = (
    "Grand Concourse",
    "Flatbush Ave",
    "Jamaica Ave",
    "Broadway",
    "Main St",
    "Central Ave",
    "State St",
    "Elm St",
    "Park Ave",
    "Ocean Pkwy",
    "Fordham Rd",
    "Court St",
)
SERVICE_CODES = ("HHA", "PCA", "CDPAS", "LPN", "RN", "HHA-LI", "PCA-LI", "PT", "OT", "ST", "MSW", "RESP")
PAYER_WORDS = (
    "Fidelis",
    "Healthfirst",
    "VNS",
    "Elderplan",
    "Centers",
    "Aetna Better",
    "Empire",
    "Metroplus",
    "Senior Whole",
    "Hamaspik",
    "Agewell",
    "Riverspring",
    "Integra",
    "Extended",
    "Village",
)
AGENCY_WORDS = (
    "Sunrise",
    "Caring Hands",
    "Liberty",
    "Empire",
    "Harmony",
    "Guardian",
    "Comfort",
    "Unity",
    "Golden Age",
    "Evergreen",
    "Bright Star",
    "Heritage",
    "Compassion",
    "Metro",
    "Hudson",
)
PATIENT_STATUS = ("Active", "Waiting", "Discharged")

MULTI_AGENCY_SHARE = 0.15
# DIMPAYERPROVIDER rows and distinct payer/agency pairs (payer_provider_reminders) at scale 1.
PAYER_PROVIDER_ROWS = 66_005
PAYER_PROVIDER_LINKS = 20_000
# Contract types of a patient's visits (the values of ContractType): Payer, UPR, Internal.
CONTRACT_TYPE_SHARES = (0.55, 0.25, 0.20)
PAYER, UPR, INTERNAL = 0, 1, 2
PLACEHOLDER_UUID = "00000000-0000-0000-0000-000000000000"


def scaled(ctx: GenContext, production: float, floor: int) -> int:
    return max(floor, round(production * ctx.scale))


def _csr(owner: np.ndarray, n_owners: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order, start, count): members of owner k are order[start[k] : start[k] + count[k]]."""
    order = np.argsort(owner, kind="stable")
    count = np.bincount(owner, minlength=n_owners)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    return order, start, count


def pick_member(
    rng: np.random.Generator, owner: np.ndarray, csr: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> np.ndarray:
    """A uniformly chosen member of each owner's group (every owner must have at least one member)."""
    order, start, count = csr
    return order[start[owner] + (rng.random(len(owner)) * count[owner]).astype(np.int64)]


def jitter_points(
    rng: np.random.Generator, region: np.ndarray, spread: float
) -> tuple[np.ndarray, np.ndarray]:
    lat0 = np.array([r[2] for r in REGIONS])[region]
    lon0 = np.array([r[3] for r in REGIONS])[region]
    lat = np.clip(lat0 + rng.normal(0, spread, len(region)), *LAT_RANGE)
    lon = np.clip(lon0 + rng.normal(0, spread * 1.3, len(region)), *LON_RANGE)
    return lat, lon


def _names(rng: np.random.Generator, n: int) -> tuple[pa.Array, pa.Array]:
    first = random_text(rng, FIRST_NAMES, n)
    last = random_text(rng, LAST_NAMES, n)
    return first, last


def ssn_text(values: np.ndarray) -> pa.Array:
    """'NNN-NN-NNNN' text of nine-digit integers."""
    values = np.asarray(values, dtype=np.int64)
    return join_text(
        int_text(values // 1_000_000, 3),
        int_text(values // 10_000 % 100, 2),
        int_text(values % 10_000, 4),
        sep="-",
    )


@dataclass
class World:
    """Index arrays of the bulk population plus the dimension tables built from them."""

    n_providers: int
    provider_id: np.ndarray  # (n, 36) UUID text matrix
    provider_app: np.ndarray
    provider_region: np.ndarray
    provider_usable: np.ndarray  # active, not demo, not excluded: its visits reach detection
    office_id: np.ndarray  # (n, 36) UUID text matrix
    office_app: np.ndarray
    office_provider: np.ndarray
    office_csr: tuple[np.ndarray, np.ndarray, np.ndarray]
    payer_id: np.ndarray  # (n, 36) UUID text matrix
    payer_app: np.ndarray
    contract_id: np.ndarray  # (n, 36) UUID text matrix
    contract_app: np.ndarray
    service_id: np.ndarray  # (n, 36) UUID text matrix
    service_app: np.ndarray
    user_id: np.ndarray  # (n, 36) UUID text matrix
    # patients: one global patient, one provider-side and one payer-side DIMPATIENT record each
    patient_provider: np.ndarray
    patient_global_id: np.ndarray  # (n, 36) UUID text matrix
    patient_app: np.ndarray
    patient_p_id: np.ndarray  # (n, 36) UUID text matrix
    patient_p_app: np.ndarray
    patient_pa_id: np.ndarray  # (n, 36) UUID text matrix
    patient_pa_app: np.ndarray
    patient_lat: np.ndarray
    patient_lon: np.ndarray
    patient_office: np.ndarray
    patient_contract_type: np.ndarray
    patient_payer: np.ndarray
    patient_contract: np.ndarray
    patient_service: np.ndarray
    patient_csr: tuple[np.ndarray, np.ndarray, np.ndarray]
    # persons and their caregiver records
    n_persons: int
    person_multi: np.ndarray
    person_nrec: np.ndarray
    person_rec_start: np.ndarray
    record_person: np.ndarray
    record_provider: np.ndarray
    record_id: np.ndarray  # (n, 36) UUID text matrix
    record_app: np.ndarray
    record_usable_ssn: np.ndarray
    excluded_ssns: list[str]
    excluded_agencies: list[tuple[str, str, int]]  # (name, provider id, app id)
    tables: dict[str, pa.Table] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)


def build_world(ctx: GenContext) -> World:
    rng = ctx.rng(Stream.WORLD)
    n_regions = len(REGIONS)
    region_share = np.array([r[4] for r in REGIONS])
    region_share = region_share / region_share.sum()
    tables: dict[str, pa.Table] = {}

    # --- providers: the first 3 per region round-robin so every region has agencies to share people
    n_prov = scaled(ctx, 1351, 40)
    prov_region = np.concatenate(
        [np.tile(np.arange(n_regions), 3), rng.choice(n_regions, n_prov - 3 * n_regions, p=region_share)]
    )
    prov_id = uuid_matrix(rng, n_prov)
    prov_app = 10_000 + np.arange(n_prov, dtype=np.int64)
    u = rng.random(n_prov)
    # Mostly 'NY'; a few spellings that normalise to NY, blanks, and out-of-state agencies (section 3).
    state_options = ["NY", "ny ", "", None, "NJ", "PA"]
    state_idx = np.select([u < 0.94, u < 0.96, u < 0.97, u < 0.98, u < 0.99], [0, 1, 2, 3, 4], 5)
    # A few inactive and demo agencies (their visits never pair). Kept rare (~1.5 % of agencies): at 5 %,
    # as before, a scale with many agencies lost ~12 % of its pairs against a small one (whose first 27
    # agencies are always usable), so the conflict density depended on the scale.
    prov_active = rng.random(n_prov) >= 0.01
    prov_demo = rng.random(n_prov) < 0.005
    # The round-robin agencies stay usable so each region keeps at least three live agencies.
    prov_active[: 3 * n_regions] = True
    prov_demo[: 3 * n_regions] = False
    state_idx[: 3 * n_regions] = 0
    excluded_idx = n_prov - 1
    excluded_ssns: list[str] = []
    prov_name = join_text(random_text(rng, AGENCY_WORDS, n_prov), "Home Care", int_text(prov_app), sep=" ")
    tables["DIMPROVIDER"] = source_table(
        "DIMPROVIDER",
        {
            "Provider Id": text_from_matrix(prov_id),
            "Application Provider Id": prov_app,
            "Provider Name": prov_name,
            "Phone Number 1": join_text(
                "(",
                random_text(rng, ["212", "718", "914", "518", "315", "716"], n_prov),
                ") 555-",
                int_text(rng.integers(0, 10_000, n_prov), 4),
            ),
            "Federal Tax Number": join_text(
                int_text(rng.integers(10, 99, n_prov), 2),
                int_text(rng.integers(0, 10**7, n_prov), 7),
                sep="-",
            ),
            "Address State": choose_text(state_options, state_idx),
            "Is Active": prov_active,
            "Is Demo": prov_demo,
        },
    )
    excluded_agencies = [
        (str(prov_name[excluded_idx]), bytes(prov_id[excluded_idx]).decode(), int(prov_app[excluded_idx]))
    ]
    prov_usable = prov_active & ~prov_demo
    prov_usable[excluded_idx] = False

    # --- offices: 1 + Poisson(1.44) per agency (about 2.4, as 3,302 / 1,351)
    off_count = 1 + np.minimum(rng.poisson(1.44, n_prov), 5)
    off_provider = np.repeat(np.arange(n_prov), off_count)
    n_off = len(off_provider)
    off_id = uuid_matrix(rng, n_off)
    off_app = 50_000 + np.arange(n_off, dtype=np.int64)
    off_seq = np.arange(n_off) - np.repeat(np.cumsum(off_count) - off_count, off_count)
    tables["DIMOFFICE"] = source_table(
        "DIMOFFICE",
        {
            "Office Id": text_from_matrix(off_id),
            "Application Office Id": off_app,
            "Office Name": join_text(
                take(prov_name, off_provider),
                take(pa.array([r[1] for r in REGIONS]), prov_region[off_provider]),
                int_text(off_seq + 1),
                sep=" - ",
            ),
            "Is Active": rng.random(n_off) >= 0.03,
        },
    )
    off_csr = _csr(off_provider, n_prov)

    # --- payers: 133 active non-demo at scale 1, plus a few inactive and demo ones
    n_pay_active = scaled(ctx, 133, 8)
    n_pay_inactive = scaled(ctx, 12, 1)
    n_pay_demo = scaled(ctx, 5, 1)
    n_pay = n_pay_active + n_pay_inactive + n_pay_demo
    pay_id = uuid_matrix(rng, n_pay)
    pay_app = 700 + np.arange(n_pay, dtype=np.int64)
    pay_active = np.arange(n_pay) < n_pay_active + n_pay_demo
    pay_demo = (np.arange(n_pay) >= n_pay_active) & (np.arange(n_pay) < n_pay_active + n_pay_demo)
    pay_name = join_text(random_text(rng, PAYER_WORDS, n_pay), "Health Plan", int_text(pay_app), sep=" ")
    tables["DIMPAYER"] = source_table(
        "DIMPAYER",
        {
            "Payer Id": text_from_matrix(pay_id),
            "Payer Name": pay_name,
            "Payer State": choose_text(["NY", "NJ"], (rng.random(n_pay) < 0.05).astype(np.int64)),
            "Is Active": pay_active,
            "Is Demo": pay_demo,
        },
    )
    # Visits mostly bill active payers; inactive and demo payers only occasionally.
    payer_weight = np.where(pay_active & ~pay_demo, 1.0, 0.05)
    payer_weight /= payer_weight.sum()

    # --- payer/agency links for the reminders sync. At scale 1 DIMPAYERPROVIDER has 66,005 rows but the
    # reminders table only ~20K pairs (section 4): the view repeats a pair (one row per contract or
    # office upstream; the columns we read are identical), and the sync keeps the distinct pairs. So
    # ~20K x scale distinct links (every agency has at least one), each listed 1 + Poisson(2.3) times.
    n_links = scaled(ctx, PAYER_PROVIDER_LINKS, n_prov)
    link = rng.random((n_prov, n_pay)) < min(1.0, n_links / (n_prov * n_pay))
    link[np.arange(n_prov), rng.integers(0, n_pay_active, n_prov)] = True
    link_prov, link_pay = np.nonzero(link)
    repeat = 1 + rng.poisson(PAYER_PROVIDER_ROWS / PAYER_PROVIDER_LINKS - 1, len(link_prov))
    link_prov, link_pay = np.repeat(link_prov, repeat), np.repeat(link_pay, repeat)
    tables["DIMPAYERPROVIDER"] = source_table(
        "DIMPAYERPROVIDER",
        {
            "Payer Id": text_from_matrix(pay_id[link_pay]),
            "Application Payer Id": int_text(pay_app[link_pay]),
            "Provider Id": text_from_matrix(prov_id[link_prov]),
            "Application Provider Id": int_text(prov_app[link_prov]),
        },
    )

    # --- contracts
    n_con = scaled(ctx, 13_464, 40)
    con_id = uuid_matrix(rng, n_con)
    con_app = 30_000 + np.arange(n_con, dtype=np.int64)
    con_payer = rng.choice(n_pay, n_con, p=payer_weight)
    tables["DIMCONTRACT"] = source_table(
        "DIMCONTRACT",
        {
            "Contract Id": text_from_matrix(con_id),
            "Contract Name": join_text(take(pay_name, con_payer), "Contract", int_text(con_app), sep=" "),
            "Is Active": rng.random(n_con) >= 0.05,
        },
    )

    # --- service codes and users
    n_sc = scaled(ctx, 5_967, 15)
    sc_id = uuid_matrix(rng, n_sc)
    sc_app = 4_000 + np.arange(n_sc, dtype=np.int64)
    tables["DIMSERVICECODE"] = source_table(
        "DIMSERVICECODE",
        {
            "Service Code Id": text_from_matrix(sc_id),
            "Application Service Code Id": sc_app,
            "Service Code": join_text(
                random_text(rng, SERVICE_CODES, n_sc),
                int_text(np.arange(n_sc) % 100, 2),
                sep="-",
            ),
        },
    )
    n_user = scaled(ctx, 5_000, 10)
    user_id = uuid_matrix(rng, n_user)
    ufirst, ulast = _names(rng, n_user)
    tables["DIMUSER"] = source_table(
        "DIMUSER", {"User Id": text_from_matrix(user_id), "User Fullname": join_text(ufirst, ulast, sep=" ")}
    )

    # --- patients (every agency gets at least three)
    n_pat = scaled(ctx, 104_600, 400)
    pat_provider = (
        np.concatenate([np.tile(np.arange(n_prov), 3), rng.integers(0, n_prov, n_pat - 3 * n_prov)])
        if n_pat > 3 * n_prov
        else np.arange(n_pat) % n_prov
    )
    pat_global = uuid_matrix(rng, n_pat)
    pat_p = uuid_matrix(rng, n_pat)
    pat_pa = uuid_matrix(rng, n_pat)
    pat_app = 20_000_000 + np.arange(n_pat, dtype=np.int64)
    pat_p_app = 40_000_000 + np.arange(n_pat, dtype=np.int64)
    pat_pa_app = 60_000_000 + np.arange(n_pat, dtype=np.int64)
    pat_lat, pat_lon = jitter_points(rng, prov_region[pat_provider], 0.03)
    pat_office = pick_member(rng, pat_provider, off_csr)
    pat_ctype = rng.choice(3, n_pat, p=CONTRACT_TYPE_SHARES)
    pat_payer = rng.choice(n_pay, n_pat, p=payer_weight)
    pat_contract = rng.integers(0, n_con, n_pat)
    pat_service = rng.integers(0, n_sc, n_pat)
    tables["DIMPATIENT"], tables["DIMPATIENTADDRESS"] = _patient_tables(
        ctx, rng, prov_region[pat_provider], pat_p, pat_p_app, pat_pa, pat_pa_app, pat_lat, pat_lon
    )

    # --- persons and caregiver records
    n_persons = scaled(ctx, 650_000, 300)
    person_region = rng.choice(n_regions, n_persons, p=region_share)
    multi = rng.random(n_persons) < MULTI_AGENCY_SHARE
    nrec = np.where(multi, np.where(rng.random(n_persons) < 0.25, 3, 2), 1)
    rec_start = np.concatenate([[0], np.cumsum(nrec)[:-1]])
    n_rec = int(nrec.sum())
    rec_person = np.repeat(np.arange(n_persons), nrec)
    rec_provider = np.empty(n_rec, dtype=np.int64)
    for region in range(n_regions):
        candidates = np.flatnonzero(prov_region == region)
        members = np.flatnonzero(person_region == region)
        # Distinct agencies per person: the first columns of a random permutation of the region's agencies.
        first = candidates[rng.integers(0, len(candidates), len(members))]
        rec_provider[rec_start[members]] = first
        several = members[nrec[members] > 1]
        if len(several):
            perm = np.argsort(rng.random((len(several), len(candidates))), axis=1)[:, :3]
            for k in range(3):
                has = nrec[several] > k
                rec_provider[rec_start[several[has]] + k] = candidates[perm[has, k]]
    ssn_values = rng.choice(565_000_000, n_persons, replace=False) + 100_000_000
    person_ssn = ssn_text(ssn_values)
    # SSN quality (section 3): mostly clean, some padded with blanks (TRIM makes them match), a few blank or
    # NULL, which makes the record's visits unusable (D23).
    u = rng.random(n_rec)
    rec_ssn = take(person_ssn, rec_person)
    rec_ssn = where(u >= 0.995, join_text(" ", rec_ssn, "  "), rec_ssn)
    rec_ssn = where(u >= 0.998, "   ", rec_ssn)
    rec_ssn = with_nulls(rec_ssn, u < 0.999)
    rec_id = uuid_matrix(rng, n_rec)
    rec_app = 100_000 + np.arange(n_rec, dtype=np.int64)
    first, last = _names(rng, n_persons)
    tables["DIMCAREGIVER"] = source_table(
        "DIMCAREGIVER",
        {
            "Caregiver Id": text_from_matrix(rec_id),
            "Application Caregiver Id": rec_app,
            "SSN": rec_ssn,
            "Status": pa.array(["Active"] * n_rec),
            "Caregiver Code": join_text("CG", int_text(rec_app, 7)),
            "Caregiver Fullname": join_text(take(first, rec_person), take(last, rec_person), sep=" "),
            "Caregiver Firstname": take(first, rec_person),
            "Caregiver Lastname": take(last, rec_person),
        },
    )
    # About 7K of 650K persons are excluded (1.1 %); their stored text is the canonical SSN.
    excluded_persons = np.flatnonzero(rng.random(n_persons) < 7_000 / 650_000)
    excluded_ssns = take(person_ssn, excluded_persons).to_pylist()

    return World(
        n_providers=n_prov,
        provider_id=prov_id,
        provider_app=prov_app,
        provider_region=prov_region,
        provider_usable=prov_usable,
        office_id=off_id,
        office_app=off_app,
        office_provider=off_provider,
        office_csr=off_csr,
        payer_id=pay_id,
        payer_app=pay_app,
        contract_id=con_id,
        contract_app=con_app,
        service_id=sc_id,
        service_app=sc_app,
        user_id=user_id,
        patient_provider=pat_provider,
        patient_global_id=pat_global,
        patient_app=pat_app,
        patient_p_id=pat_p,
        patient_p_app=pat_p_app,
        patient_pa_id=pat_pa,
        patient_pa_app=pat_pa_app,
        patient_lat=pat_lat,
        patient_lon=pat_lon,
        patient_office=pat_office,
        patient_contract_type=pat_ctype,
        patient_payer=pat_payer,
        patient_contract=pat_contract,
        patient_service=pat_service,
        patient_csr=_csr(pat_provider, n_prov),
        n_persons=n_persons,
        person_multi=multi,
        person_nrec=nrec,
        person_rec_start=rec_start,
        record_person=rec_person,
        record_provider=rec_provider,
        record_id=rec_id,
        record_app=rec_app,
        record_usable_ssn=u < 0.998,
        excluded_ssns=excluded_ssns,
        excluded_agencies=excluded_agencies,
        tables=tables,
        stats={
            "providers": n_prov,
            "persons": n_persons,
            "multi_agency_persons": int(multi.sum()),
            "caregiver_records": n_rec,
            "patients": n_pat,
        },
    )


def _patient_tables(
    ctx: GenContext,
    rng: np.random.Generator,
    region: np.ndarray,
    p_id: np.ndarray,
    p_app: np.ndarray,
    pa_id: np.ndarray,
    pa_app: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
) -> tuple[pa.Table, pa.Table]:
    """DIMPATIENT (provider-side and payer-side record of each patient) and their addresses."""
    n = len(p_app)
    first, last = _names(rng, n)
    status = choose_text(PATIENT_STATUS, rng.choice(3, n, p=[0.85, 0.05, 0.10]))
    records_id = text_from_matrix(np.concatenate([p_id, pa_id]))
    records_app = np.concatenate([p_app, pa_app])
    both = np.concatenate([np.arange(n), np.arange(n)])
    admission = join_text("ADM", int_text(rng.integers(0, 10**7, 2 * n), 7))
    medicaid = join_text(
        random_text(rng, ["AB", "CD", "GH", "KL", "TR", "WX"], 2 * n),
        int_text(rng.integers(0, 100_000, 2 * n), 5),
        random_text(rng, ["A", "B", "C", "D", "E"], 2 * n),
    )
    patient = source_table(
        "DIMPATIENT",
        {
            "Patient Id": records_id,
            "Admission Id": admission,
            "Patient Name": join_text(take(last, both), take(first, both), sep=", "),
            "Patient Firstname": take(first, both),
            "Patient Lastname": take(last, both),
            "Medicaid Number": medicaid,
            "Status": take(status, both),
        },
    )

    # Addresses: each record has its primary GPS address; 30 % also a non-primary home address; 3 % an
    # older primary GPS address (the patient moved), which the newest-first rule must skip.
    m = 2 * n
    extra_home = np.flatnonzero(rng.random(m) < 0.30)
    moved = np.flatnonzero(rng.random(m) < 0.03)
    owner = np.concatenate([np.arange(m), extra_home, moved])
    kind = np.concatenate([np.zeros(m, np.int64), np.ones(len(extra_home), np.int64), np.full(len(moved), 2)])
    k = len(owner)
    base_day = ctx.anchor_day - 3 * 365
    created_day = np.where(
        kind == 2,
        base_day - rng.integers(30, 700, k),
        base_day + rng.integers(0, 2 * 365, k),
    )
    created = local_to_utc(created_day * US_PER_DAY + rng.integers(0, 86_400, k) * 1_000_000)
    owner_patient = both[owner]
    a_lat = lat[owner_patient] + np.where(kind == 0, 0.0, rng.normal(0, 0.02, k))
    a_lon = lon[owner_patient] + np.where(kind == 0, 0.0, rng.normal(0, 0.02, k))
    u = rng.random(k)
    # Mostly 'NY'; spellings the cross-state filter maps or trims to NY; a few blanks and NULLs.
    state = choose_text(
        ["NY", "ny", "New York", " NY", "", None],
        np.select([u < 0.93, u < 0.95, u < 0.97, u < 0.98, u < 0.99], [0, 1, 2, 3, 4], 5),
    )
    zip5 = int_text(np.array([r[5] for r in REGIONS])[region[owner_patient]] + rng.integers(0, 40, k), 5)
    zip_text = where(
        rng.random(k) < 0.1, join_text(zip5, int_text(rng.integers(0, 10_000, k), 4), sep="-"), zip5
    )
    address_type = choose_text(
        ["Billing, GPS", "Billing, GPS, Home", "GPS", "Home", "Billing"],
        np.where(kind == 1, 3 + (rng.random(k) < 0.5), rng.choice(3, k, p=[0.5, 0.35, 0.15])),
    )
    address = source_table(
        "DIMPATIENTADDRESS",
        {
            "Patient Address Id": text_from_matrix(uuid_matrix(rng, k)),
            "Application Patient Address Id": 8_000_000 + np.arange(k, dtype=np.int64),
            "Address Line 1": join_text(
                int_text(rng.integers(1, 3000, k)),
                random_text(rng, STREETS, k),
                sep=" ",
            ),
            "Address Line 2": with_nulls(
                join_text("Apt", int_text(rng.integers(1, 30, k)), sep=" "), rng.random(k) < 0.4
            ),
            "City": take(pa.array([r[1] for r in REGIONS]), region[owner_patient]),
            "Address State": state,
            "Zip Code": zip_text,
            "County": take(pa.array([r[0] for r in REGIONS]), region[owner_patient]),
            "Patient Id": take(records_id, owner),
            "Application Patient Id": records_app[owner],
            "Longitude": np.round(a_lon, 7),
            "Latitude": np.round(a_lat, 7),
            "Primary Address": kind != 1,
            "Address Type": address_type,
            "Application Created UTC Timestamp": created,
        },
    )
    return patient, address
