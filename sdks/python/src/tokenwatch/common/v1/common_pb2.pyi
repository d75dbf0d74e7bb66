import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Severity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEVERITY_UNSPECIFIED: _ClassVar[Severity]
    SEVERITY_INFO: _ClassVar[Severity]
    SEVERITY_LOW: _ClassVar[Severity]
    SEVERITY_MEDIUM: _ClassVar[Severity]
    SEVERITY_HIGH: _ClassVar[Severity]
    SEVERITY_CRITICAL: _ClassVar[Severity]

class FindingStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FINDING_STATUS_UNSPECIFIED: _ClassVar[FindingStatus]
    FINDING_STATUS_OPEN: _ClassVar[FindingStatus]
    FINDING_STATUS_ACKNOWLEDGED: _ClassVar[FindingStatus]
    FINDING_STATUS_RESOLVED_TRUE_POSITIVE: _ClassVar[FindingStatus]
    FINDING_STATUS_RESOLVED_FALSE_POSITIVE: _ClassVar[FindingStatus]
    FINDING_STATUS_RESOLVED_BENIGN: _ClassVar[FindingStatus]

class VerdictKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERDICT_KIND_UNSPECIFIED: _ClassVar[VerdictKind]
    VERDICT_KIND_TRUE_POSITIVE: _ClassVar[VerdictKind]
    VERDICT_KIND_FALSE_POSITIVE: _ClassVar[VerdictKind]
    VERDICT_KIND_BENIGN_TRUE_POSITIVE: _ClassVar[VerdictKind]

class ContextKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTEXT_KIND_UNSPECIFIED: _ClassVar[ContextKind]
    CONTEXT_KIND_IP: _ClassVar[ContextKind]
    CONTEXT_KIND_PREFIX: _ClassVar[ContextKind]
    CONTEXT_KIND_ASN: _ClassVar[ContextKind]
    CONTEXT_KIND_COUNTRY: _ClassVar[ContextKind]
    CONTEXT_KIND_USER_AGENT: _ClassVar[ContextKind]
    CONTEXT_KIND_BROWSER: _ClassVar[ContextKind]
    CONTEXT_KIND_OS: _ClassVar[ContextKind]
    CONTEXT_KIND_DEVICE: _ClassVar[ContextKind]
    CONTEXT_KIND_NETWORK_CLIENT: _ClassVar[ContextKind]
SEVERITY_UNSPECIFIED: Severity
SEVERITY_INFO: Severity
SEVERITY_LOW: Severity
SEVERITY_MEDIUM: Severity
SEVERITY_HIGH: Severity
SEVERITY_CRITICAL: Severity
FINDING_STATUS_UNSPECIFIED: FindingStatus
FINDING_STATUS_OPEN: FindingStatus
FINDING_STATUS_ACKNOWLEDGED: FindingStatus
FINDING_STATUS_RESOLVED_TRUE_POSITIVE: FindingStatus
FINDING_STATUS_RESOLVED_FALSE_POSITIVE: FindingStatus
FINDING_STATUS_RESOLVED_BENIGN: FindingStatus
VERDICT_KIND_UNSPECIFIED: VerdictKind
VERDICT_KIND_TRUE_POSITIVE: VerdictKind
VERDICT_KIND_FALSE_POSITIVE: VerdictKind
VERDICT_KIND_BENIGN_TRUE_POSITIVE: VerdictKind
CONTEXT_KIND_UNSPECIFIED: ContextKind
CONTEXT_KIND_IP: ContextKind
CONTEXT_KIND_PREFIX: ContextKind
CONTEXT_KIND_ASN: ContextKind
CONTEXT_KIND_COUNTRY: ContextKind
CONTEXT_KIND_USER_AGENT: ContextKind
CONTEXT_KIND_BROWSER: ContextKind
CONTEXT_KIND_OS: ContextKind
CONTEXT_KIND_DEVICE: ContextKind
CONTEXT_KIND_NETWORK_CLIENT: ContextKind

class ContextValue(_message.Message):
    __slots__ = ("kind", "value")
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    kind: ContextKind
    value: str
    def __init__(self, kind: _Optional[_Union[ContextKind, str]] = ..., value: _Optional[str] = ...) -> None: ...

class TimeRange(_message.Message):
    __slots__ = ("start_time", "end_time")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FeatureContribution(_message.Message):
    __slots__ = ("feature", "value", "baseline", "weight", "contribution", "explanation")
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    feature: str
    value: float
    baseline: str
    weight: float
    contribution: float
    explanation: str
    def __init__(self, feature: _Optional[str] = ..., value: _Optional[float] = ..., baseline: _Optional[str] = ..., weight: _Optional[float] = ..., contribution: _Optional[float] = ..., explanation: _Optional[str] = ...) -> None: ...

class WeightSet(_message.Message):
    __slots__ = ("tenant_id", "version", "weights", "threshold", "reason", "create_time", "created_by", "pinned", "parent_version")
    class WeightsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    PINNED_FIELD_NUMBER: _ClassVar[int]
    PARENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    version: int
    weights: _containers.ScalarMap[str, float]
    threshold: float
    reason: str
    create_time: _timestamp_pb2.Timestamp
    created_by: str
    pinned: bool
    parent_version: int
    def __init__(self, tenant_id: _Optional[str] = ..., version: _Optional[int] = ..., weights: _Optional[_Mapping[str, float]] = ..., threshold: _Optional[float] = ..., reason: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ..., pinned: _Optional[bool] = ..., parent_version: _Optional[int] = ...) -> None: ...
