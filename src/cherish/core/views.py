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

    Counted per username and per address so a guesser cannot lock out everyone from one IP
    nor try many passwords for one user from many addresses unnoticed.
    """

    template_name = "core/login.html"
    redirect_authenticated_user = True

    def _idents(self) -> list[str]:
        username = (self.request.POST.get("username") or "").strip().lower()
        return [f"user:{username}", f"ip:{ratelimit.client_ip(self.request)}"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        limit = settings.CHERISH_LOGIN_FAILURE_LIMIT
        if any(ratelimit.count("login", ident) >= limit for ident in self._idents()):
            form = self.get_form()
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
        for ident in self._idents():
            ratelimit.hit("login", ident, window_s=LOGIN_WINDOW_S)
        return super().form_invalid(form)

    def form_valid(self, form: Any) -> HttpResponse:
        ratelimit.reset("login", self._idents()[0])
        return super().form_valid(form)
