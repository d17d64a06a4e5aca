from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from cherish.core import ratelimit

LOGIN_WINDOW_S = 15 * 60


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("cases:inbox")
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
        ratelimit.reset("login", self._account())
        return super().form_valid(form)
