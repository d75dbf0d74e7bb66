import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tokenwatch.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ActionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_KIND_UNSPECIFIED: _ClassVar[ActionKind]
    ACTION_KIND_REVOKE_SESSIONS: _ClassVar[ActionKind]
    ACTION_KIND_DISABLE_USER: _ClassVar[ActionKind]
    ACTION_KIND_ENABLE_USER: _ClassVar[ActionKind]
    ACTION_KIND_CONFIRM_COMPROMISED: _ClassVar[ActionKind]

class ActionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_STATE_UNSPECIFIED: _ClassVar[ActionState]
    ACTION_STATE_PROPOSED: _ClassVar[ActionState]
    ACTION_STATE_APPROVED: _ClassVar[ActionState]
    ACTION_STATE_REJECTED: _ClassVar[ActionState]
    ACTION_STATE_EXECUTING: _ClassVar[ActionState]
    ACTION_STATE_SUCCEEDED: _ClassVar[ActionState]
    ACTION_STATE_FAILED: _ClassVar[ActionState]
    ACTION_STATE_CANCELLED: _ClassVar[ActionState]

class ResponseMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESPONSE_MODE_UNSPECIFIED: _ClassVar[ResponseMode]
    RESPONSE_MODE_NOTIFY: _ClassVar[ResponseMode]
    RESPONSE_MODE_REQUIRE_APPROVAL: _ClassVar[ResponseMode]
    RESPONSE_MODE_AUTOMATIC: _ClassVar[ResponseMode]

class WebhookFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WEBHOOK_FORMAT_UNSPECIFIED: _ClassVar[WebhookFormat]
    WEBHOOK_FORMAT_GENERIC: _ClassVar[WebhookFormat]
    WEBHOOK_FORMAT_SLACK: _ClassVar[WebhookFormat]
    WEBHOOK_FORMAT_TEAMS: _ClassVar[WebhookFormat]

class PsaKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PSA_KIND_UNSPECIFIED: _ClassVar[PsaKind]
    PSA_KIND_CONNECTWISE: _ClassVar[PsaKind]
    PSA_KIND_AUTOTASK: _ClassVar[PsaKind]
    PSA_KIND_HALOPSA: _ClassVar[PsaKind]
ACTION_KIND_UNSPECIFIED: ActionKind
ACTION_KIND_REVOKE_SESSIONS: ActionKind
ACTION_KIND_DISABLE_USER: ActionKind
ACTION_KIND_ENABLE_USER: ActionKind
ACTION_KIND_CONFIRM_COMPROMISED: ActionKind
ACTION_STATE_UNSPECIFIED: ActionState
ACTION_STATE_PROPOSED: ActionState
ACTION_STATE_APPROVED: ActionState
ACTION_STATE_REJECTED: ActionState
ACTION_STATE_EXECUTING: ActionState
ACTION_STATE_SUCCEEDED: ActionState
ACTION_STATE_FAILED: ActionState
ACTION_STATE_CANCELLED: ActionState
RESPONSE_MODE_UNSPECIFIED: ResponseMode
RESPONSE_MODE_NOTIFY: ResponseMode
RESPONSE_MODE_REQUIRE_APPROVAL: ResponseMode
RESPONSE_MODE_AUTOMATIC: ResponseMode
WEBHOOK_FORMAT_UNSPECIFIED: WebhookFormat
WEBHOOK_FORMAT_GENERIC: WebhookFormat
WEBHOOK_FORMAT_SLACK: WebhookFormat
WEBHOOK_FORMAT_TEAMS: WebhookFormat
PSA_KIND_UNSPECIFIED: PsaKind
PSA_KIND_CONNECTWISE: PsaKind
PSA_KIND_AUTOTASK: PsaKind
PSA_KIND_HALOPSA: PsaKind

class Action(_message.Message):
    __slots__ = ("action_id", "tenant_id", "kind", "state", "user_id", "finding_id", "reason", "proposed_by", "approved_by", "create_time", "update_time", "result", "attempts", "dry_run", "severity", "outcome_json")
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    FINDING_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_BY_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_JSON_FIELD_NUMBER: _ClassVar[int]
    action_id: str
    tenant_id: str
    kind: ActionKind
    state: ActionState
    user_id: str
    finding_id: str
    reason: str
    proposed_by: str
    approved_by: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    result: str
    attempts: int
    dry_run: bool
    severity: _common_pb2.Severity
    outcome_json: str
    def __init__(self, action_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., kind: _Optional[_Union[ActionKind, str]] = ..., state: _Optional[_Union[ActionState, str]] = ..., user_id: _Optional[str] = ..., finding_id: _Optional[str] = ..., reason: _Optional[str] = ..., proposed_by: _Optional[str] = ..., approved_by: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., result: _Optional[str] = ..., attempts: _Optional[int] = ..., dry_run: _Optional[bool] = ..., severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., outcome_json: _Optional[str] = ...) -> None: ...

class ProposeActionRequest(_message.Message):
    __slots__ = ("tenant_id", "kind", "user_id", "finding_id", "reason", "request_id", "dry_run")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    FINDING_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    kind: ActionKind
    user_id: str
    finding_id: str
    reason: str
    request_id: str
    dry_run: bool
    def __init__(self, tenant_id: _Optional[str] = ..., kind: _Optional[_Union[ActionKind, str]] = ..., user_id: _Optional[str] = ..., finding_id: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class ProposeActionResponse(_message.Message):
    __slots__ = ("action",)
    ACTION_FIELD_NUMBER: _ClassVar[int]
    action: Action
    def __init__(self, action: _Optional[_Union[Action, _Mapping]] = ...) -> None: ...

class ApproveActionRequest(_message.Message):
    __slots__ = ("tenant_id", "action_id", "approve", "comment")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    action_id: str
    approve: bool
    comment: str
    def __init__(self, tenant_id: _Optional[str] = ..., action_id: _Optional[str] = ..., approve: _Optional[bool] = ..., comment: _Optional[str] = ...) -> None: ...

class ApproveActionResponse(_message.Message):
    __slots__ = ("action",)
    ACTION_FIELD_NUMBER: _ClassVar[int]
    action: Action
    def __init__(self, action: _Optional[_Union[Action, _Mapping]] = ...) -> None: ...

class ExecuteActionRequest(_message.Message):
    __slots__ = ("tenant_id", "action_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    action_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., action_id: _Optional[str] = ...) -> None: ...

class ExecuteActionResponse(_message.Message):
    __slots__ = ("action",)
    ACTION_FIELD_NUMBER: _ClassVar[int]
    action: Action
    def __init__(self, action: _Optional[_Union[Action, _Mapping]] = ...) -> None: ...

class CancelActionRequest(_message.Message):
    __slots__ = ("tenant_id", "action_id", "comment")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    action_id: str
    comment: str
    def __init__(self, tenant_id: _Optional[str] = ..., action_id: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class CancelActionResponse(_message.Message):
    __slots__ = ("action",)
    ACTION_FIELD_NUMBER: _ClassVar[int]
    action: Action
    def __init__(self, action: _Optional[_Union[Action, _Mapping]] = ...) -> None: ...

class GetActionRequest(_message.Message):
    __slots__ = ("tenant_id", "action_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    action_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., action_id: _Optional[str] = ...) -> None: ...

class GetActionResponse(_message.Message):
    __slots__ = ("action",)
    ACTION_FIELD_NUMBER: _ClassVar[int]
    action: Action
    def __init__(self, action: _Optional[_Union[Action, _Mapping]] = ...) -> None: ...

class ListActionsRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id", "states", "page_size", "page_token")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    states: _containers.RepeatedScalarFieldContainer[ActionState]
    page_size: int
    page_token: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., states: _Optional[_Iterable[_Union[ActionState, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListActionsResponse(_message.Message):
    __slots__ = ("actions", "next_page_token")
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[Action]
    next_page_token: str
    def __init__(self, actions: _Optional[_Iterable[_Union[Action, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ResponsePolicy(_message.Message):
    __slots__ = ("tenant_id", "mode_by_severity", "default_mode", "automatic_actions", "excluded_users", "min_severity", "update_time", "dry_run")
    class ModeBySeverityEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ResponseMode
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ResponseMode, str]] = ...) -> None: ...
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    MODE_BY_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_MODE_FIELD_NUMBER: _ClassVar[int]
    AUTOMATIC_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_USERS_FIELD_NUMBER: _ClassVar[int]
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    mode_by_severity: _containers.ScalarMap[str, ResponseMode]
    default_mode: ResponseMode
    automatic_actions: _containers.RepeatedScalarFieldContainer[ActionKind]
    excluded_users: _containers.RepeatedScalarFieldContainer[str]
    min_severity: _common_pb2.Severity
    update_time: _timestamp_pb2.Timestamp
    dry_run: bool
    def __init__(self, tenant_id: _Optional[str] = ..., mode_by_severity: _Optional[_Mapping[str, ResponseMode]] = ..., default_mode: _Optional[_Union[ResponseMode, str]] = ..., automatic_actions: _Optional[_Iterable[_Union[ActionKind, str]]] = ..., excluded_users: _Optional[_Iterable[str]] = ..., min_severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class GetResponsePolicyRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class GetResponsePolicyResponse(_message.Message):
    __slots__ = ("policy",)
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: ResponsePolicy
    def __init__(self, policy: _Optional[_Union[ResponsePolicy, _Mapping]] = ...) -> None: ...

class SetResponsePolicyRequest(_message.Message):
    __slots__ = ("tenant_id", "policy")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    policy: ResponsePolicy
    def __init__(self, tenant_id: _Optional[str] = ..., policy: _Optional[_Union[ResponsePolicy, _Mapping]] = ...) -> None: ...

class SetResponsePolicyResponse(_message.Message):
    __slots__ = ("policy",)
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: ResponsePolicy
    def __init__(self, policy: _Optional[_Union[ResponsePolicy, _Mapping]] = ...) -> None: ...

class SetGraphCredentialsRequest(_message.Message):
    __slots__ = ("tenant_id", "client_id", "client_secret", "certificate_pem")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_SECRET_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    client_id: str
    client_secret: str
    certificate_pem: str
    def __init__(self, tenant_id: _Optional[str] = ..., client_id: _Optional[str] = ..., client_secret: _Optional[str] = ..., certificate_pem: _Optional[str] = ...) -> None: ...

class SetGraphCredentialsResponse(_message.Message):
    __slots__ = ("update_time",)
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DeleteGraphCredentialsRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class DeleteGraphCredentialsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Webhook(_message.Message):
    __slots__ = ("webhook_id", "tenant_id", "url", "format", "min_severity", "created_by", "create_time")
    WEBHOOK_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    webhook_id: str
    tenant_id: str
    url: str
    format: WebhookFormat
    min_severity: _common_pb2.Severity
    created_by: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, webhook_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., url: _Optional[str] = ..., format: _Optional[_Union[WebhookFormat, str]] = ..., min_severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., created_by: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AddWebhookRequest(_message.Message):
    __slots__ = ("tenant_id", "url", "format", "secret", "min_severity")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    url: str
    format: WebhookFormat
    secret: str
    min_severity: _common_pb2.Severity
    def __init__(self, tenant_id: _Optional[str] = ..., url: _Optional[str] = ..., format: _Optional[_Union[WebhookFormat, str]] = ..., secret: _Optional[str] = ..., min_severity: _Optional[_Union[_common_pb2.Severity, str]] = ...) -> None: ...

class AddWebhookResponse(_message.Message):
    __slots__ = ("webhook",)
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    webhook: Webhook
    def __init__(self, webhook: _Optional[_Union[Webhook, _Mapping]] = ...) -> None: ...

class ListWebhooksRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class ListWebhooksResponse(_message.Message):
    __slots__ = ("webhooks",)
    WEBHOOKS_FIELD_NUMBER: _ClassVar[int]
    webhooks: _containers.RepeatedCompositeFieldContainer[Webhook]
    def __init__(self, webhooks: _Optional[_Iterable[_Union[Webhook, _Mapping]]] = ...) -> None: ...

class DeleteWebhookRequest(_message.Message):
    __slots__ = ("tenant_id", "webhook_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    webhook_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., webhook_id: _Optional[str] = ...) -> None: ...

class DeleteWebhookResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PsaTicketSettings(_message.Message):
    __slots__ = ("min_severity", "board", "ticket_type", "new_status", "closed_status", "priorities")
    class PrioritiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    BOARD_FIELD_NUMBER: _ClassVar[int]
    TICKET_TYPE_FIELD_NUMBER: _ClassVar[int]
    NEW_STATUS_FIELD_NUMBER: _ClassVar[int]
    CLOSED_STATUS_FIELD_NUMBER: _ClassVar[int]
    PRIORITIES_FIELD_NUMBER: _ClassVar[int]
    min_severity: _common_pb2.Severity
    board: str
    ticket_type: str
    new_status: str
    closed_status: str
    priorities: _containers.ScalarMap[str, str]
    def __init__(self, min_severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., board: _Optional[str] = ..., ticket_type: _Optional[str] = ..., new_status: _Optional[str] = ..., closed_status: _Optional[str] = ..., priorities: _Optional[_Mapping[str, str]] = ...) -> None: ...

class PsaConnection(_message.Message):
    __slots__ = ("kind", "url", "auth_url", "company_id", "public_key", "client_id", "username", "integration_code", "tickets", "updated_by", "update_time")
    KIND_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    AUTH_URL_FIELD_NUMBER: _ClassVar[int]
    COMPANY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    INTEGRATION_CODE_FIELD_NUMBER: _ClassVar[int]
    TICKETS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    kind: PsaKind
    url: str
    auth_url: str
    company_id: str
    public_key: str
    client_id: str
    username: str
    integration_code: str
    tickets: PsaTicketSettings
    updated_by: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[_Union[PsaKind, str]] = ..., url: _Optional[str] = ..., auth_url: _Optional[str] = ..., company_id: _Optional[str] = ..., public_key: _Optional[str] = ..., client_id: _Optional[str] = ..., username: _Optional[str] = ..., integration_code: _Optional[str] = ..., tickets: _Optional[_Union[PsaTicketSettings, _Mapping]] = ..., updated_by: _Optional[str] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SetPsaConnectionRequest(_message.Message):
    __slots__ = ("secret", "connection")
    SECRET_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    secret: str
    connection: PsaConnection
    def __init__(self, secret: _Optional[str] = ..., connection: _Optional[_Union[PsaConnection, _Mapping]] = ...) -> None: ...

class SetPsaConnectionResponse(_message.Message):
    __slots__ = ("connection",)
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    connection: PsaConnection
    def __init__(self, connection: _Optional[_Union[PsaConnection, _Mapping]] = ...) -> None: ...

class GetPsaConnectionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetPsaConnectionResponse(_message.Message):
    __slots__ = ("connection",)
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    connection: PsaConnection
    def __init__(self, connection: _Optional[_Union[PsaConnection, _Mapping]] = ...) -> None: ...

class TestPsaConnectionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PsaCheck(_message.Message):
    __slots__ = ("name", "ok", "detail")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    name: str
    ok: bool
    detail: str
    def __init__(self, name: _Optional[str] = ..., ok: _Optional[bool] = ..., detail: _Optional[str] = ...) -> None: ...

class TestPsaConnectionResponse(_message.Message):
    __slots__ = ("ok", "checks")
    OK_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    checks: _containers.RepeatedCompositeFieldContainer[PsaCheck]
    def __init__(self, ok: _Optional[bool] = ..., checks: _Optional[_Iterable[_Union[PsaCheck, _Mapping]]] = ...) -> None: ...

class ListPsaCompaniesRequest(_message.Message):
    __slots__ = ("search", "page_size")
    SEARCH_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    search: str
    page_size: int
    def __init__(self, search: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class PsaCompany(_message.Message):
    __slots__ = ("company_id", "name")
    COMPANY_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    company_id: str
    name: str
    def __init__(self, company_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class ListPsaCompaniesResponse(_message.Message):
    __slots__ = ("companies",)
    COMPANIES_FIELD_NUMBER: _ClassVar[int]
    companies: _containers.RepeatedCompositeFieldContainer[PsaCompany]
    def __init__(self, companies: _Optional[_Iterable[_Union[PsaCompany, _Mapping]]] = ...) -> None: ...

class MapPsaCompanyRequest(_message.Message):
    __slots__ = ("tenant_id", "company_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    COMPANY_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    company_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., company_id: _Optional[str] = ...) -> None: ...

class PsaCompanyMapping(_message.Message):
    __slots__ = ("tenant_id", "company_id", "company_name", "mapped_by", "map_time")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    COMPANY_ID_FIELD_NUMBER: _ClassVar[int]
    COMPANY_NAME_FIELD_NUMBER: _ClassVar[int]
    MAPPED_BY_FIELD_NUMBER: _ClassVar[int]
    MAP_TIME_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    company_id: str
    company_name: str
    mapped_by: str
    map_time: _timestamp_pb2.Timestamp
    def __init__(self, tenant_id: _Optional[str] = ..., company_id: _Optional[str] = ..., company_name: _Optional[str] = ..., mapped_by: _Optional[str] = ..., map_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MapPsaCompanyResponse(_message.Message):
    __slots__ = ("mapping",)
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    mapping: PsaCompanyMapping
    def __init__(self, mapping: _Optional[_Union[PsaCompanyMapping, _Mapping]] = ...) -> None: ...

class GetPsaStatusRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class PsaTicket(_message.Message):
    __slots__ = ("incident_id", "ticket_id", "ticket_number", "company_id", "state", "severity", "create_time", "update_time")
    INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    TICKET_ID_FIELD_NUMBER: _ClassVar[int]
    TICKET_NUMBER_FIELD_NUMBER: _ClassVar[int]
    COMPANY_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    incident_id: str
    ticket_id: str
    ticket_number: str
    company_id: str
    state: str
    severity: _common_pb2.Severity
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, incident_id: _Optional[str] = ..., ticket_id: _Optional[str] = ..., ticket_number: _Optional[str] = ..., company_id: _Optional[str] = ..., state: _Optional[str] = ..., severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetPsaStatusResponse(_message.Message):
    __slots__ = ("mapping", "backlog", "last_error", "next_attempt_time", "tickets")
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    BACKLOG_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    TICKETS_FIELD_NUMBER: _ClassVar[int]
    mapping: PsaCompanyMapping
    backlog: int
    last_error: str
    next_attempt_time: _timestamp_pb2.Timestamp
    tickets: _containers.RepeatedCompositeFieldContainer[PsaTicket]
    def __init__(self, mapping: _Optional[_Union[PsaCompanyMapping, _Mapping]] = ..., backlog: _Optional[int] = ..., last_error: _Optional[str] = ..., next_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tickets: _Optional[_Iterable[_Union[PsaTicket, _Mapping]]] = ...) -> None: ...
