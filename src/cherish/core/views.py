from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, login, logout
from django.contrib.auth.views import LoginView
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import match_token, user_has_device

from cherish.core import ratelimit

LOGIN_WINDOW_S = 15 * 60


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("desk:inbox")
    return redirect("intake:complain")


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("core:login")


class ThrottledLoginView(LoginView):
    """Staff login that refuses further tries for a while after repeated failures.

    Two separate counters (defect #9.8): one per account (the username typed, known or not)
    with a low limit, so nobody can guess one person's password; one per client address with
    a much higher limit, so a colleague behind the same office proxy is never locked out by
    someone else's typos, while one machine trying many accounts is still stopped. The address
    is the real client's behind configured proxies (core.client, CHERISH_TRUSTED_PROXIES).

    Nothing tells whether an account exists: an unknown username is counted, refused and
    locked exactly like a known one, with the same words, and Django's ModelBackend runs the
    password hasher for unknown users too, so the work (and the time) is alike.
    """

    template_name = "core/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # Single sign-on (staff/oidc.py), when configured.
        context["sso_name"] = (
            settings.CHERISH_OIDC_PROVIDER_NAME if settings.OIDC_RP_CLIENT_ID else ""
        )
        context["sso_failed"] = self.request.GET.get("sso") == "failed"
        return context

    def _account(self) -> str:
        username = (self.request.POST.get("username") or "").strip().lower()
        return f"user:{username}"

    def _address(self) -> str:
        return f"ip:{ratelimit.client_ip(self.request)}"

    def _locked(self) -> bool:
        account = ratelimit.count("login", self._account())
        address = ratelimit.count("login", self._address())
        return (
            account >= settings.CHERISH_LOGIN_FAILURE_LIMIT
            or address >= settings.CHERISH_LOGIN_ADDRESS_FAILURE_LIMIT
        )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self._locked():
            form = self.get_form()
            # Same work as a real try, so the refusal's timing says nothing either.
            form.is_valid()
            form.errors.clear()
            form.add_error(
                None,
                "Too many failed sign-in attempts. Wait 15 minutes and try again, "
                "or ask an administrator to reset your password.",
            )
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        ratelimit.hit("login", self._account(), window_s=LOGIN_WINDOW_S)
        ratelimit.hit("login", self._address(), window_s=LOGIN_WINDOW_S)
        return super().form_invalid(form)

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if user_has_device(user, confirmed=True):
            # The password was right; the account is not reset until the second factor is.
            self.request.session[PENDING_SESSION_KEY] = {
                "user": user.pk,
                "backend": user.backend,
                "at": time.time(),
                "next": self.get_success_url(),
            }
            return redirect("core:login_verify")
        ratelimit.reset("login", self._account())
        return super().form_valid(form)


PENDING_SESSION_KEY = "cherish_second_factor"
PENDING_MAX_AGE_S = 5 * 60


def _pending_user(request: HttpRequest) -> tuple[Any, dict[str, Any]] | None:
    pending = request.session.get(PENDING_SESSION_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_MAX_AGE_S:
        return None
    user_pk = pending.get("user")
    if not isinstance(user_pk, int | str):
        return None
    user = get_user_model()._default_manager.filter(pk=user_pk, is_active=True).first()
    return (user, pending) if user is not None else None


@require_http_methods(["GET", "POST"])
def login_verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the authenticator app, or a recovery code.

    Failures count against the same per-account and per-address limits as passwords, so six
    digits cannot be guessed either."""
    found = _pending_user(request)
    if found is None:
        request.session.pop(PENDING_SESSION_KEY, None)
        return redirect("core:login")
    user, pending = found
    account = f"user:{user.get_username().strip().lower()}"
    address = f"ip:{ratelimit.client_ip(request)}"
    error = ""
    status = 200
    if request.method == "POST":
        locked = (
            ratelimit.count("login", account) >= settings.CHERISH_LOGIN_FAILURE_LIMIT
            or ratelimit.count("login", address) >= settings.CHERISH_LOGIN_ADDRESS_FAILURE_LIMIT
        )
        token = "".join((request.POST.get("code") or "").split())[:64]
        device = None if locked or not token else match_token(user, token)
        if device is not None:
            del request.session[PENDING_SESSION_KEY]
            ratelimit.reset("login", account)
            login(request, user, backend=pending["backend"])
            otp_login(request, device)
            target = str(pending.get("next") or "")
            if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                target = resolve_url(settings.LOGIN_REDIRECT_URL)
            return redirect(target)
        if locked:
            error, status = (
                gettext("Too many failed sign-in attempts. Wait 15 minutes and try again."),
                429,
            )
        else:
            ratelimit.hit("login", account, window_s=LOGIN_WINDOW_S)
            ratelimit.hit("login", address, window_s=LOGIN_WINDOW_S)
            error = gettext("That code is not right. Try the newest code, or a recovery code.")
            status = 200
    response = render(request, "core/login_verify.html", {"error": error})
    response.status_code = status
    return response
