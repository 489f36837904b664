"""The advocate's referral page: refer a peer, see the referrals made and what they earn."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from challenges.referrals import services as referrals
from challenges.referrals.forms import ReferralForm
from challenges.referrals.models import Referral
from hub.auth import roles_required
from hub.htmx import apply_errors, render_page_or_partial
from hub.models import Role
from hub.transactions import refusal_renders

bp = Blueprint("referrals", __name__)


@bp.route("/referrals", methods=["GET", "POST"])
@roles_required(Role.ADVOCATE)
@refusal_renders(lambda exc: _refer_page(apply_errors(ReferralForm(), exc)))
def refer():
    form = ReferralForm()
    if form.validate_on_submit():
        created = referrals.submit_referral(current_user.advocate.id, referrals.parse_referral(form.data))
        return _refer_page(ReferralForm(formdata=None), created)
    return _refer_page(form)


def _refer_page(form: ReferralForm, created: Referral | None = None):
    """The referral form (blank again after a referral, with its errors after a refusal) and
    the referrals made; htmx swaps just the panel."""
    mine, _ = referrals.list_referrals(current_user.advocate.id, None, 1, 50)
    offer = referrals.open_referral_challenge(current_user.advocate.id)
    return render_page_or_partial(
        "referrals/refer.html",
        "referrals/_refer_panel.html",
        form=form,
        referrals=mine,
        created=created,
        offer=offer,
        message=referrals.advocate_message,
    )
