from django.contrib.admin.apps import AdminConfig


class CherishAdminConfig(AdminConfig):
    """Django's admin with Cherish's site: administrators only, every change audited."""

    default_site = "cherish.staff.admin_site.CherishAdminSite"
