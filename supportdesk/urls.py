from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from supportdesk.views import healthz
from tickets.views_email import inbound_email

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"
    ),
    path("api/inbound/email/", inbound_email, name="inbound-email"),
    path("api/", include("tickets.api.urls")),
    path("healthz", healthz, name="healthz"),
    path("chat/", include("tickets.chat.urls")),
]
