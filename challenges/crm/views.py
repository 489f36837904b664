"""The advocate's impact page: the deals their referrals and reference calls helped."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from challenges.crm import reports
from hub.auth import roles_required
from hub.models import Role

bp = Blueprint("crm", __name__)


@bp.get("/me/impact")
@roles_required(Role.ADVOCATE)
def my_impact():
    return render_template("crm/impact.html", deals=reports.deals_helped(current_user.advocate.id))
