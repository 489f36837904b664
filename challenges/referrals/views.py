"""The advocate's referral page: refer a peer, see the referrals made and what they earn."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from challenges.referrals import services as referrals
from challenges.referrals.forms import ReferralForm
from hub.auth import roles_required
from hub.errors import VouchError
from hub.extensions import db
from hub.htmx import apply_errors, render_page_or_partial
from hub.models import Role

bp = Blueprint("referrals", __name__)


@bp.route("/referrals", methods=["GET", "POST"])
@roles_required(Role.ADVOCATE)
def refer():
    form = ReferralForm()
    created = None
    if form.validate_on_submit():
        try:
            created = referrals.submit_referral(current_user.advocate.id, referrals.parse_referral(form.data))
            db.session.commit()
            form = ReferralForm(formdata=None)
        except VouchError as exc:
            db.session.rollback()
            apply_errors(form, exc)
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
