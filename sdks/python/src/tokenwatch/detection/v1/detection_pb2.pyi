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

class FindingView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FINDING_VIEW_UNSPECIFIED: _ClassVar[FindingView]
    FINDING_VIEW_BASIC: _ClassVar[FindingView]
    FINDING_VIEW_FULL: _ClassVar[FindingView]

class FindingChange(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FINDING_CHANGE_UNSPECIFIED: _ClassVar[FindingChange]
    FINDING_CHANGE_CREATED: _ClassVar[FindingChange]
    FINDING_CHANGE_ESCALATED: _ClassVar[FindingChange]
    FINDING_CHANGE_STATUS_CHANGED: _ClassVar[FindingChange]
FINDING_VIEW_UNSPECIFIED: FindingView
FINDING_VIEW_BASIC: FindingView
FINDING_VIEW_FULL: FindingView
FINDING_CHANGE_UNSPECIFIED: FindingChange
FINDING_CHANGE_CREATED: FindingChange
FINDING_CHANGE_ESCALATED: FindingChange
FINDING_CHANGE_STATUS_CHANGED: FindingChange

class SessionContext(_message.Message):
    __slots__ = ("context", "first_seen_time", "last_seen_time", "events", "new_for_user", "tenant_prevalence", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEW_FOR_USER_FIELD_NUMBER: _ClassVar[int]
    TENANT_PREVALENCE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.ContextValue
    first_seen_time: _timestamp_pb2.Timestamp
    last_seen_time: _timestamp_pb2.Timestamp
    events: int
    new_for_user: bool
    tenant_prevalence: float
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, context: _Optional[_Union[_common_pb2.ContextValue, _Mapping]] = ..., first_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., events: _Optional[int] = ..., new_for_user: _Optional[bool] = ..., tenant_prevalence: _Optional[float] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class EvidenceEvent(_message.Message):
    __slots__ = ("event_time", "record_id", "operation", "workload", "ip_address", "asn", "country", "user_agent", "device_id")
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    WORKLOAD_FIELD_NUMBER: _ClassVar[int]
    IP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ASN_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    event_time: _timestamp_pb2.Timestamp
    record_id: str
    operation: str
    workload: str
    ip_address: str
    asn: int
    country: str
    user_agent: str
    device_id: str
    def __init__(self, event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., record_id: _Optional[str] = ..., operation: _Optional[str] = ..., workload: _Optional[str] = ..., ip_address: _Optional[str] = ..., asn: _Optional[int] = ..., country: _Optional[str] = ..., user_agent: _Optional[str] = ..., device_id: _Optional[str] = ...) -> None: ...

class Finding(_message.Message):
    __slots__ = ("finding_id", "tenant_id", "user_id", "session_id", "incident_id", "score", "threshold", "severity", "status", "first_seen_time", "last_seen_time", "detected_at", "create_time", "update_time", "contributions", "contexts", "risky_operations", "summary", "weight_version", "explanation_json")
    FINDING_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    DETECTED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTIONS_FIELD_NUMBER: _ClassVar[int]
    CONTEXTS_FIELD_NUMBER: _ClassVar[int]
    RISKY_OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_VERSION_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_JSON_FIELD_NUMBER: _ClassVar[int]
    finding_id: str
    tenant_id: str
    user_id: str
    session_id: str
    incident_id: str
    score: float
    threshold: float
    severity: _common_pb2.Severity
    status: _common_pb2.FindingStatus
    first_seen_time: _timestamp_pb2.Timestamp
    last_seen_time: _timestamp_pb2.Timestamp
    detected_at: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    contributions: _containers.RepeatedCompositeFieldContainer[_common_pb2.FeatureContribution]
    contexts: _containers.RepeatedCompositeFieldContainer[SessionContext]
    risky_operations: _containers.RepeatedScalarFieldContainer[str]
    summary: str
    weight_version: int
    explanation_json: str
    def __init__(self, finding_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., session_id: _Optional[str] = ..., incident_id: _Optional[str] = ..., score: _Optional[float] = ..., threshold: _Optional[float] = ..., severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., status: _Optional[_Union[_common_pb2.FindingStatus, str]] = ..., first_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., detected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., contributions: _Optional[_Iterable[_Union[_common_pb2.FeatureContribution, _Mapping]]] = ..., contexts: _Optional[_Iterable[_Union[SessionContext, _Mapping]]] = ..., risky_operations: _Optional[_Iterable[str]] = ..., summary: _Optional[str] = ..., weight_version: _Optional[int] = ..., explanation_json: _Optional[str] = ...) -> None: ...

class FindingStatusChange(_message.Message):
    __slots__ = ("from_status", "to_status", "actor", "comment", "change_time")
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    TO_STATUS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    CHANGE_TIME_FIELD_NUMBER: _ClassVar[int]
    from_status: _common_pb2.FindingStatus
    to_status: _common_pb2.FindingStatus
    actor: str
    comment: str
    change_time: _timestamp_pb2.Timestamp
    def __init__(self, from_status: _Optional[_Union[_common_pb2.FindingStatus, str]] = ..., to_status: _Optional[_Union[_common_pb2.FindingStatus, str]] = ..., actor: _Optional[str] = ..., comment: _Optional[str] = ..., change_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListFindingsRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id", "min_severity", "statuses", "active_time", "page_size", "page_token", "view", "order_by")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    min_severity: _common_pb2.Severity
    statuses: _containers.RepeatedScalarFieldContainer[_common_pb2.FindingStatus]
    active_time: _common_pb2.TimeRange
    page_size: int
    page_token: str
    view: FindingView
    order_by: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., min_severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., statuses: _Optional[_Iterable[_Union[_common_pb2.FindingStatus, str]]] = ..., active_time: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., view: _Optional[_Union[FindingView, str]] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListFindingsResponse(_message.Message):
    __slots__ = ("findings", "next_page_token")
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    findings: _containers.RepeatedCompositeFieldContainer[Finding]
    next_page_token: str
    def __init__(self, findings: _Optional[_Iterable[_Union[Finding, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetFindingRequest(_message.Message):
    __slots__ = ("tenant_id", "finding_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    FINDING_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    finding_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., finding_id: _Optional[str] = ...) -> None: ...

class GetFindingResponse(_message.Message):
    __slots__ = ("finding", "evidence", "history")
    FINDING_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    finding: Finding
    evidence: _containers.RepeatedCompositeFieldContainer[EvidenceEvent]
    history: _containers.RepeatedCompositeFieldContainer[FindingStatusChange]
    def __init__(self, finding: _Optional[_Union[Finding, _Mapping]] = ..., evidence: _Optional[_Iterable[_Union[EvidenceEvent, _Mapping]]] = ..., history: _Optional[_Iterable[_Union[FindingStatusChange, _Mapping]]] = ...) -> None: ...

class WatchFindingsRequest(_message.Message):
    __slots__ = ("tenant_id", "min_severity")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    min_severity: _common_pb2.Severity
    def __init__(self, tenant_id: _Optional[str] = ..., min_severity: _Optional[_Union[_common_pb2.Severity, str]] = ...) -> None: ...

class WatchFindingsResponse(_message.Message):
    __slots__ = ("finding", "change")
    FINDING_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    finding: Finding
    change: FindingChange
    def __init__(self, finding: _Optional[_Union[Finding, _Mapping]] = ..., change: _Optional[_Union[FindingChange, str]] = ...) -> None: ...

class UpdateFindingStatusRequest(_message.Message):
    __slots__ = ("tenant_id", "finding_id", "status", "comment")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    FINDING_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    finding_id: str
    status: _common_pb2.FindingStatus
    comment: str
    def __init__(self, tenant_id: _Optional[str] = ..., finding_id: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.FindingStatus, str]] = ..., comment: _Optional[str] = ...) -> None: ...

class UpdateFindingStatusResponse(_message.Message):
    __slots__ = ("finding",)
    FINDING_FIELD_NUMBER: _ClassVar[int]
    finding: Finding
    def __init__(self, finding: _Optional[_Union[Finding, _Mapping]] = ...) -> None: ...

class Incident(_message.Message):
    __slots__ = ("incident_id", "tenant_id", "user_id", "finding_ids", "severity", "first_seen_time", "last_seen_time")
    INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    FINDING_IDS_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    incident_id: str
    tenant_id: str
    user_id: str
    finding_ids: _containers.RepeatedScalarFieldContainer[str]
    severity: _common_pb2.Severity
    first_seen_time: _timestamp_pb2.Timestamp
    last_seen_time: _timestamp_pb2.Timestamp
    def __init__(self, incident_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., finding_ids: _Optional[_Iterable[str]] = ..., severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., first_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListIncidentsRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id", "page_size", "page_token")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    page_size: int
    page_token: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListIncidentsResponse(_message.Message):
    __slots__ = ("incidents", "next_page_token")
    INCIDENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    incidents: _containers.RepeatedCompositeFieldContainer[Incident]
    next_page_token: str
    def __init__(self, incidents: _Optional[_Iterable[_Union[Incident, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class EvaluateSessionRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id", "session_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    session_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., session_id: _Optional[str] = ...) -> None: ...

class EvaluateSessionResponse(_message.Message):
    __slots__ = ("score", "threshold", "significant", "severity", "contributions", "contexts", "risky_operations", "weight_version")
    SCORE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    SIGNIFICANT_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTIONS_FIELD_NUMBER: _ClassVar[int]
    CONTEXTS_FIELD_NUMBER: _ClassVar[int]
    RISKY_OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_VERSION_FIELD_NUMBER: _ClassVar[int]
    score: float
    threshold: float
    significant: bool
    severity: _common_pb2.Severity
    contributions: _containers.RepeatedCompositeFieldContainer[_common_pb2.FeatureContribution]
    contexts: _containers.RepeatedCompositeFieldContainer[SessionContext]
    risky_operations: _containers.RepeatedScalarFieldContainer[str]
    weight_version: int
    def __init__(self, score: _Optional[float] = ..., threshold: _Optional[float] = ..., significant: _Optional[bool] = ..., severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., contributions: _Optional[_Iterable[_Union[_common_pb2.FeatureContribution, _Mapping]]] = ..., contexts: _Optional[_Iterable[_Union[SessionContext, _Mapping]]] = ..., risky_operations: _Optional[_Iterable[str]] = ..., weight_version: _Optional[int] = ...) -> None: ...

class GetWeightsRequest(_message.Message):
    __slots__ = ("tenant_id", "version")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    version: int
    def __init__(self, tenant_id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class GetWeightsResponse(_message.Message):
    __slots__ = ("weight_set",)
    WEIGHT_SET_FIELD_NUMBER: _ClassVar[int]
    weight_set: _common_pb2.WeightSet
    def __init__(self, weight_set: _Optional[_Union[_common_pb2.WeightSet, _Mapping]] = ...) -> None: ...

class SetWeightsRequest(_message.Message):
    __slots__ = ("tenant_id", "weights", "threshold", "reason", "base_version", "pin")
    class WeightsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    BASE_VERSION_FIELD_NUMBER: _ClassVar[int]
    PIN_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    weights: _containers.ScalarMap[str, float]
    threshold: float
    reason: str
    base_version: int
    pin: bool
    def __init__(self, tenant_id: _Optional[str] = ..., weights: _Optional[_Mapping[str, float]] = ..., threshold: _Optional[float] = ..., reason: _Optional[str] = ..., base_version: _Optional[int] = ..., pin: _Optional[bool] = ...) -> None: ...

class SetWeightsResponse(_message.Message):
    __slots__ = ("weight_set",)
    WEIGHT_SET_FIELD_NUMBER: _ClassVar[int]
    weight_set: _common_pb2.WeightSet
    def __init__(self, weight_set: _Optional[_Union[_common_pb2.WeightSet, _Mapping]] = ...) -> None: ...
