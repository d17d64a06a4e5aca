"""Single sign-on over OpenID Connect (mozilla-django-oidc), for organisations with an
identity provider.

Configured from the environment (settings.py, ``CHERISH_OIDC_*``); off when no client id is
set. The provider's answer is mapped to an **existing** staff member by a **verified** email
address: nobody gets an account by signing in, an unverified address or an address that two
accounts share signs nobody in, and a deactivated account stays out. A session that began at
the provider is exempt from Cherish's own second factor (the provider decides how people
prove who they are).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpResponse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from cherish.staff.twofactor import SIGN_IN_METHOD_KEY


class StaffOIDCBackend(OIDCAuthenticationBackend):  # type: ignore[misc]
    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("email")) and claims.get("email_verified") is True

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        email = str(claims.get("email") or "").strip()
        if not email:
            return get_user_model().objects.none()
        return get_user_model().objects.filter(
            email__iexact=email, is_active=True, staff__isnull=False
        )

    def create_user(self, claims: dict[str, Any]) -> None:
        return None  # only existing staff sign in (OIDC_CREATE_USER is off as well)

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        return user  # the provider does not edit Cherish's staff records


class StaffOIDCCallbackView(OIDCAuthenticationCallbackView):  # type: ignore[misc]
    def login_success(self) -> HttpResponse:
        response: HttpResponse = super().login_success()
        self.request.session[SIGN_IN_METHOD_KEY] = "oidc"
        return response
