"""Thin API views: check access through selectors, write through services."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets import permissions, roles, selectors, services
from tickets.api.serializers import (
    MessageCreateSerializer,
    MessageSerializer,
    PriorityField,
    TicketCreateSerializer,
    TicketEventSerializer,
    TicketSerializer,
    TransitionSerializer,
)
from tickets.models import AuthorKind, Channel, Ticket
from tickets.states import Status


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size = 25
    max_page_size = 100
    page_size_query_param = "page_size"


class OldestFirst(NewestFirst):
    ordering = "id"


class TicketFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[s.value for s in Status], required=False)
    priority = PriorityField(required=False)
    channel = serializers.ChoiceField(choices=Channel.values, required=False)
    category = serializers.CharField(max_length=64, required=False)
    language = serializers.CharField(max_length=8, required=False)
    assignee = serializers.IntegerField(required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)

    LOOKUPS = {
        "assignee": "assignee_id",
        "created_after": "created_at__gte",
        "created_before": "created_at__lt",
    }

    def as_filters(self) -> dict:
        data = dict(self.validated_data)
        if "priority" in data:
            data["priority"] = services.priority_from_label(data["priority"])
        return {self.LOOKUPS.get(k, k): v for k, v in data.items()}


def _ticket_or_404(request: Request, ticket_id: int) -> Ticket:
    ticket = selectors.ticket_get_for_user(request.user, ticket_id=ticket_id)
    if ticket is None:
        raise NotFound("No such ticket.")
    return ticket


def _author_kind(user) -> str:
    if roles.is_supervisor(user) or roles.is_agent(user):
        return AuthorKind.AGENT
    return AuthorKind.CUSTOMER


class TicketListCreate(generics.GenericAPIView):
    pagination_class = NewestFirst
    serializer_class = TicketSerializer

    @extend_schema(
        parameters=[TicketFilterSerializer], responses=TicketSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        params = TicketFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        queryset = selectors.ticket_list_for_user(
            request.user, filters=params.as_filters()
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(TicketSerializer(page, many=True).data)

    @extend_schema(request=TicketCreateSerializer, responses={201: TicketSerializer})
    def post(self, request: Request) -> Response:
        data = TicketCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = self._customer_for(request, data.validated_data)
        ticket, _ = services.ticket_create(
            customer=customer,
            subject=data.validated_data["subject"],
            text=data.validated_data["text"],
            channel=Channel.API,
            actor_id=request.user.pk,
        )
        return Response(TicketSerializer(ticket).data, status=status.HTTP_201_CREATED)

    @staticmethod
    def _customer_for(request: Request, data: dict):
        """Staff open tickets on behalf of an address; customers for themselves."""
        if roles.is_supervisor(request.user) or roles.is_agent(request.user):
            if "customer_email" not in data:
                raise serializers.ValidationError(
                    {"customer_email": ["Required when opening a ticket for someone."]}
                )
            return services.customer_get_or_create(
                email=data["customer_email"], name=data.get("customer_name", "")
            )
        customer = roles.customer_of(request.user)
        if customer is None:
            raise PermissionDenied("Only customers and staff may open tickets.")
        if data.get("customer_email") not in (None, customer.email):
            raise PermissionDenied("Customers may only open tickets for themselves.")
        return customer


class TicketDetail(APIView):
    @extend_schema(responses=TicketSerializer)
    def get(self, request: Request, ticket_id: int) -> Response:
        return Response(TicketSerializer(_ticket_or_404(request, ticket_id)).data)


class TicketTransition(APIView):
    @extend_schema(request=TransitionSerializer, responses=TicketSerializer)
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = _ticket_or_404(request, ticket_id)
        data = TransitionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        action = data.validated_data["action"]
        if action not in self._allowed(request.user):
            raise PermissionDenied(f"You may not {action} tickets.")
        ticket = services.ticket_transition(
            ticket_id=ticket.pk,
            action=action,
            actor_id=request.user.pk,
            actor_kind=_author_kind(request.user),
        )
        return Response(TicketSerializer(ticket).data)

    @staticmethod
    def _allowed(user) -> frozenset:
        if roles.is_supervisor(user):
            return permissions.SUPERVISOR_ACTIONS
        if roles.is_agent(user):
            return permissions.AGENT_ACTIONS
        return permissions.CUSTOMER_ACTIONS


class MessageListCreate(generics.GenericAPIView):
    pagination_class = OldestFirst
    serializer_class = MessageSerializer

    @extend_schema(responses=MessageSerializer(many=True))
    def get(self, request: Request, ticket_id: int) -> Response:
        ticket = _ticket_or_404(request, ticket_id)
        page = self.paginate_queryset(
            selectors.message_list_for_user(request.user, ticket=ticket)
        )
        return self.get_paginated_response(MessageSerializer(page, many=True).data)

    @extend_schema(request=MessageCreateSerializer, responses={201: MessageSerializer})
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = _ticket_or_404(request, ticket_id)
        data = MessageCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        author_kind = _author_kind(request.user)
        if data.validated_data["internal"] and author_kind == AuthorKind.CUSTOMER:
            raise PermissionDenied("Customers cannot write internal notes.")
        message = services.message_add(
            ticket_id=ticket.pk,
            author_kind=author_kind,
            author_id=request.user.pk,
            text=data.validated_data["text"],
            internal=data.validated_data["internal"],
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class TicketEventList(generics.GenericAPIView):
    pagination_class = OldestFirst
    serializer_class = TicketEventSerializer

    @extend_schema(responses=TicketEventSerializer(many=True))
    def get(self, request: Request, ticket_id: int) -> Response:
        ticket = _ticket_or_404(request, ticket_id)
        if not (roles.is_supervisor(request.user) or roles.is_agent(request.user)):
            raise PermissionDenied("The audit trail is for staff.")
        page = self.paginate_queryset(selectors.event_list_for_ticket(ticket=ticket))
        return self.get_paginated_response(TicketEventSerializer(page, many=True).data)
