"""Two-factor sign-in for staff: TOTP (an authenticator app) with one-time recovery codes.

Built on django-otp: a confirmed ``TOTPDevice`` is the authenticator app, a ``StaticDevice``
holds the recovery codes (each works once). Signing in with a password then asks for a code
(core.views.login_verify). Administrators (and superusers) must enrol before they can use
anything; the organisation policy ``require_two_factor`` asks it of everyone. A person who
signed in through the organisation's identity provider (OIDC) is exempt: the provider
decides how they authenticate.
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from cherish.staff.access import org_policy, staff_for_user
from cherish.staff.models import Role

RECOVERY_CODES = 10
APP_DEVICE = "Authenticator app"
RECOVERY_DEVICE = "Recovery codes"
# The session says how its person signed in; "oidc" sessions are exempt (see above).
SIGN_IN_METHOD_KEY = "cherish_sign_in_method"
# Pages a person who must enrol can still reach.
OPEN_PREFIXES = ("/account/two-factor/", "/logout/", "/login/", "/static/", "/oidc/", "/api/")


# The policy row is read at most every POLICY_TTL_S seconds per process: the check runs on
# every request of everyone who has not used a second factor, and a query each time would
# cost every page one (a changed policy applies within this time everywhere).
POLICY_TTL_S = 30.0
_policy: tuple[float, bool] | None = None


def everyone_must_use_two_factor() -> bool:
    global _policy
    at = time.monotonic()
    if _policy is None or _policy[0] < at:
        _policy = (at + POLICY_TTL_S, org_policy().require_two_factor)
    return _policy[1]


def forget_policy() -> None:
    """Read the policy afresh on the next request (tests; after changing it here)."""
    global _policy
    _policy = None


def must_use_two_factor(user: Any) -> bool:
    """Administrators always (unless the deployment turned it off); everyone by policy."""
    if not user.is_authenticated:
        return False
    staff = staff_for_user(user)
    is_admin = bool(user.is_superuser) or (staff is not None and staff.role == Role.ADMINISTRATOR)
    if is_admin and settings.CHERISH_REQUIRE_TWO_FACTOR_FOR_ADMINISTRATORS:
        return True
    return staff is not None and everyone_must_use_two_factor()


class TwoFactorRequiredMiddleware:
    """Sends a person who must use two factors to enrolment (no device yet) or back to sign
    in (a device, but this session never proved it) before any other page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            # Nobody is signed in without a session (a customer's survey link, the portal):
            # their user is not looked up. (The saving was within the noise; it is kept as
            # the plain statement of the rule, not for speed.)
            return self.get_response(request)
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(OPEN_PREFIXES)
            and request.session.get(SIGN_IN_METHOD_KEY) != "oidc"
            and not user.is_verified()
            and must_use_two_factor(user)
        ):
            if user_has_device(user, confirmed=True):
                logout(request)
                return redirect_to_login(request.get_full_path())
            return redirect("staff:two_factor")
        return self.get_response(request)


def _qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code (data: URI, allowed by the desk's CSP)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _pending_app(user: Any) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE, confirmed=False)
    return device


@transaction.atomic
def new_recovery_codes(user: Any) -> list[str]:
    """Replace the person's recovery codes with RECOVERY_CODES fresh ones (shown once)."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


@transaction.atomic
def confirm_app(user: Any, device: TOTPDevice, code: str) -> bool:
    """Confirm the authenticator app with its first code; other unconfirmed apps go."""
    if not device.verify_token(code):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return True


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app (QR code, or the key typed by hand), confirm it with a
    code, and receive recovery codes once; later: see the state and renew recovery codes."""
    user = request.user
    enrolled = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    context: dict[str, Any] = {
        "enrolled": enrolled,
        "required": must_use_two_factor(user),
        "remaining_codes": StaticToken.objects.filter(
            device__user=user, device__name=RECOVERY_DEVICE
        ).count(),
    }
    action = request.POST.get("action", "")
    verified = bool(getattr(user, "is_verified", lambda: False)())
    if request.method == "POST" and action == "recovery" and enrolled and verified:
        context["codes"] = new_recovery_codes(user)
        context["remaining_codes"] = len(context["codes"])
        return render(request, "staff/two_factor.html", context)
    if not enrolled:
        device = _pending_app(user)
        if request.method == "POST" and action == "confirm":
            code = "".join((request.POST.get("code") or "").split())[:16]
            if confirm_app(user, device, code):
                otp_login(request, device)
                context.update(
                    enrolled=True,
                    codes=new_recovery_codes(user),
                    remaining_codes=RECOVERY_CODES,
                )
                messages.success(request, gettext("Two-factor sign-in is on."))
                return render(request, "staff/two_factor.html", context)
            context["error"] = gettext(
                "That code is not right. Check the time on your phone and try again."
            )
        uri = device.config_url
        context.update(
            otpauth_uri=uri,
            qr_data_uri=_qr_svg(uri),
            secret=base64.b32encode(device.bin_key).decode().rstrip("="),
        )
    return render(request, "staff/two_factor.html", context)
