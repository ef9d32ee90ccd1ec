"""The ledger agrees with the money on the loads: checked for every load, batch, factor and
company (the property test runs these after every step; `problems()` is empty when all hold).

- purchased, advance, fee and reserve held = what the load's purchase says (nothing for a load
  not bought), and purchased = advance + fee + reserve within a cent where all three are known;
- collected = the load's payments = its paid amount; reserve released and fee adjustments =
  its payments'; short pay and overpay = the load's; for a Completed load
  purchased − short pays + overpays = what was paid;
- chargeback = the load's chargebacks not undone, and the load is Charged back exactly when
  it has one; reserve balance = held − released − charged against it, never below zero;
- a reversal reverses one row once, with the amount negated;
- the running totals equal a full recount of the rows.
"""
import collections

from peewee import JOIN
from peewee import fn

from webapp.models import CHARGED_BACK
from webapp.models import COMPLETED
from webapp.models import FINANCED
from webapp.models import Batch
from webapp.models import Chargeback
from webapp.models import LedgerEntry
from webapp.models import LedgerTotal
from webapp.models import Load
from webapp.models import Payment
from webapp.services.ledger.writing import month_of

KINDS = ("purchased", "advance", "fee", "reserve_held", "collected", "reserve_released", "short_pay",
         "overpay", "fee_adjustment", "chargeback", "reserve_charged")
BOUGHT = (FINANCED, COMPLETED, CHARGED_BACK)


def expected_by_load(company_id=None):
    """{load id: Counter(kind: cents)} of what the loads, payments and chargebacks say, and
    {load id: (company, subsidiary, batch, factor)}."""
    where = Load.company == company_id if company_id else True
    expected = collections.defaultdict(collections.Counter)
    keys = {}
    loads = (Load.select(Load.id, Load.company, Load.subsidiary, Load.batch, Batch.factor, Load.billing_status,
                         Load.purchase_amount_cents, Load.advance_cents, Load.fee_cents, Load.reserve_cents,
                         Load.paid_cents, Load.short_pay_cents, Load.overpay_cents)
             .join(Batch, JOIN.LEFT_OUTER, on=(Load.batch == Batch.id)).where(where).tuples())
    for (load_id, company, subsidiary, batch, factor, status, face, advance, fee, reserve, paid, short,
         over) in loads:
        keys[load_id] = (company, subsidiary, batch, factor)
        e = expected[load_id]
        if status in BOUGHT and face is not None:
            e["purchased"] += face
            e["advance"] += advance or 0
            e["fee"] += fee or 0
            e["reserve_held"] += reserve or 0
        e["paid_on_load"] = paid
        e["short_pay"] += short
        e["overpay"] += over
        e["status"] = status
        e["parts_known"] = int(None not in (advance, fee, reserve))
    pay_where = Payment.load.in_(Load.select(Load.id).where(where)) if company_id else True
    for load_id, amount, released, adjusted in (
            Payment.select(Payment.load, fn.SUM(Payment.amount_cents), fn.SUM(Payment.reserve_released_cents),
                           fn.SUM(Payment.fee_adjustment_cents)).where(pay_where).group_by(Payment.load).tuples()):
        expected[load_id]["collected"] += int(amount or 0)
        expected[load_id]["reserve_released"] += int(released or 0)
        expected[load_id]["fee_adjustment"] += int(adjusted or 0)
    cb_where = (Chargeback.company == company_id) if company_id else True
    for load_id, amount, from_reserve in (
            Chargeback.select(Chargeback.load, Chargeback.amount_cents, Chargeback.reserve_applied_cents)
            .where(cb_where & Chargeback.undone_at.is_null()).tuples()):
        expected[load_id]["chargeback"] += amount
        expected[load_id]["reserve_charged"] += from_reserve
        expected[load_id]["open_chargebacks"] += 1
    return expected, keys


def ledger_by_load(company_id=None):
    """{load id: Counter(kind: cents)} of the ledger, and the ledger sums by (level, key, kind)."""
    where = LedgerEntry.company == company_id if company_id else True
    by_load = collections.defaultdict(collections.Counter)
    groups = collections.Counter()
    for load_id, company, subsidiary, batch, factor, kind, cents in (
            LedgerEntry.select(LedgerEntry.load, LedgerEntry.company, LedgerEntry.subsidiary, LedgerEntry.batch,
                               LedgerEntry.factor, LedgerEntry.kind, fn.SUM(LedgerEntry.amount_cents))
            .where(where)
            .group_by(LedgerEntry.load, LedgerEntry.company, LedgerEntry.subsidiary, LedgerEntry.batch,
                      LedgerEntry.factor, LedgerEntry.kind).tuples()):
        by_load[load_id][kind] += int(cents)
        for level, key in (("company", company), ("batch", batch), ("factor", factor)):
            groups[(level, key, kind)] += int(cents)
    return by_load, groups


def problems(company_id=None):
    """Every invariant that does not hold, in words (empty when the ledger agrees)."""
    out = []
    expected, keys = expected_by_load(company_id)
    actual, groups = ledger_by_load(company_id)
    for load_id in sorted(set(expected) | set(actual)):
        e, a = expected.get(load_id, collections.Counter()), actual.get(load_id, collections.Counter())
        for kind in KINDS:
            if e[kind] != a[kind]:
                out.append(f"load {load_id}: ledger {kind} {a[kind]} but the load says {e[kind]}")
        if a["collected"] != e["paid_on_load"]:
            out.append(f"load {load_id}: ledger collected {a['collected']} but paid {e['paid_on_load']}")
        if e["parts_known"] and a["purchased"] and abs(a["advance"] + a["fee"] + a["reserve_held"]
                                                        - a["purchased"]) > 1:
            out.append(f"load {load_id}: advance + fee + reserve != purchased")
        if e["status"] == COMPLETED and a["purchased"] - a["short_pay"] + a["overpay"] != a["collected"]:
            out.append(f"load {load_id}: purchased - short pays + overpays != collected")
        if (e["status"] == CHARGED_BACK) != bool(e["open_chargebacks"]):
            out.append(f"load {load_id}: status {e['status']} with {e['open_chargebacks']} open chargebacks")
        balance = a["reserve_held"] - a["reserve_released"] - a["reserve_charged"]
        if a["reserve_charged"] and balance < 0:
            out.append(f"load {load_id}: the chargeback took more than the reserve held ({balance})")
    # Batch, factor and company: the ledger's sums by level equal the loads' sums.
    wanted = collections.Counter()
    for load_id, e in expected.items():
        company, _subsidiary, batch, factor = keys.get(load_id, (None, None, None, None))
        for kind in KINDS:
            if e[kind]:
                for level, key in (("company", company), ("batch", batch), ("factor", factor)):
                    wanted[(level, key, kind)] += e[kind]
    for key in sorted(set(wanted) | set(groups), key=str):
        if wanted[key] != groups[key]:
            out.append(f"{key[0]} {key[1]}: ledger {key[2]} {groups[key]} but its loads say {wanted[key]}")
    out.extend(reversal_problems(company_id))
    out.extend(total_problems(company_id))
    return out


def reversal_problems(company_id=None):
    """A reversal negates the row it reverses and is not itself reversed."""
    original = LedgerEntry.alias()
    where = LedgerEntry.company == company_id if company_id else True
    bad = (LedgerEntry.select(LedgerEntry.id)
           .join(original, on=(LedgerEntry.reversal_of == original.id))
           .where(where & ((LedgerEntry.amount_cents + original.amount_cents != 0)
                           | (LedgerEntry.kind != original.kind) | (LedgerEntry.load != original.load)
                           | original.reversal_of.is_null(False))).tuples())
    return [f"ledger row {row_id}: not a true reversal" for (row_id,) in bad]


def recount(company_id=None):
    """{(company, subsidiary, factor key, kind, month): (cents, rows)} counted from every ledger row."""
    where = LedgerEntry.company == company_id if company_id else True
    counted = collections.defaultdict(lambda: [0, 0])
    for company, subsidiary, factor, kind, day, cents in (
            LedgerEntry.select(LedgerEntry.company, LedgerEntry.subsidiary, LedgerEntry.factor, LedgerEntry.kind,
                               LedgerEntry.entry_date, LedgerEntry.amount_cents).where(where).tuples()):
        key = (company, subsidiary, factor or 0, kind, month_of(day))
        counted[key][0] += cents
        counted[key][1] += 1
    return {k: tuple(v) for k, v in counted.items()}


def total_problems(company_id=None):
    """The running totals (LedgerTotal) that differ from a full recount."""
    where = LedgerTotal.company == company_id if company_id else True
    kept = {(c, s, f, k, month_of(m)): (cents, n) for c, s, f, k, m, cents, n in (
        LedgerTotal.select(LedgerTotal.company, LedgerTotal.subsidiary, LedgerTotal.factor_key, LedgerTotal.kind,
                           LedgerTotal.month, LedgerTotal.amount_cents, LedgerTotal.entries).where(where).tuples())}
    counted = recount(company_id)
    return [f"running total {key}: kept {kept.get(key)} but a recount says {counted.get(key)}"
            for key in sorted(set(kept) | set(counted), key=str) if kept.get(key) != counted.get(key)]
