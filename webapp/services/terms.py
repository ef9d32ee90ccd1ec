"""A factor's agreed terms as money: the advance, fee and reserve it should report for an
invoice (percentages in basis points, 9750 = 97.50 %; a fee flat or by days outstanding in
tiers). One implementation, used by Management > Factors (services/factors.py) and by the
report checks (services/reports/checking.py); it imports only the models, so that either may
use it."""
from webapp.models import FEE_TIERED
from webapp.models import FactorFeeTier

# Every basis-point value is a percentage from 0 to 100.
FULL_BP = 10000


def percent(bp):
    """'97.50 %' from basis points."""
    return f"{bp // 100}.{bp % 100:02d} %"


def tiers(factor):
    """The factor's fee tiers, shortest first."""
    return list(FactorFeeTier.select().where(FactorFeeTier.factor == factor)
                .order_by(FactorFeeTier.up_to_days))


def fee_bp_for(factor, days_outstanding, fee_tiers=None):
    """The fee in basis points for an invoice outstanding DAYS_OUTSTANDING days: the flat fee, or
    the first tier that reaches that far (past the last tier, the last tier's fee)."""
    if factor.fee_kind != FEE_TIERED:
        return factor.fee_bp
    rows = fee_tiers if fee_tiers is not None else tiers(factor)
    if not rows:
        return factor.fee_bp
    for tier in rows:
        if days_outstanding <= tier.up_to_days:
            return tier.fee_bp
    return rows[-1].fee_bp


def share(amount_cents, bp):
    """AMOUNT_CENTS × BP / 10,000, rounded half up to the cent."""
    return (amount_cents * bp + FULL_BP // 2) // FULL_BP


def expected_amounts(factor, amount_cents, days_outstanding=0, fee_tiers=None):
    """What the factor should report for an invoice of AMOUNT_CENTS outstanding DAYS_OUTSTANDING
    days under its terms: {"advance_cents", "fee_cents", "reserve_cents", "fee_bp"}."""
    fee_bp = fee_bp_for(factor, days_outstanding, fee_tiers)
    return {"advance_cents": share(amount_cents, factor.advance_bp), "fee_cents": share(amount_cents, fee_bp),
            "reserve_cents": share(amount_cents, factor.reserve_bp), "fee_bp": fee_bp}
