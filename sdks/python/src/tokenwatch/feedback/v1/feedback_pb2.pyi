import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tokenwatch.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Verdict(_message.Message):
    __slots__ = ("verdict_id", "tenant_id", "finding_id", "kind", "comment", "analyst", "create_time", "weight_version")
    VERDICT_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    FINDING_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    ANALYST_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_VERSION_FIELD_NUMBER: _ClassVar[int]
    verdict_id: str
    tenant_id: str
    finding_id: str
    kind: _common_pb2.VerdictKind
    comment: str
    analyst: str
    create_time: _timestamp_pb2.Timestamp
    weight_version: int
    def __init__(self, verdict_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., finding_id: _Optional[str] = ..., kind: _Optional[_Union[_common_pb2.VerdictKind, str]] = ..., comment: _Optional[str] = ..., analyst: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., weight_version: _Optional[int] = ...) -> None: ...

class SubmitVerdictRequest(_message.Message):
    __slots__ = ("tenant_id", "finding_id", "kind", "comment")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    FINDING_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    finding_id: str
    kind: _common_pb2.VerdictKind
    comment: str
    def __init__(self, tenant_id: _Optional[str] = ..., finding_id: _Optional[str] = ..., kind: _Optional[_Union[_common_pb2.VerdictKind, str]] = ..., comment: _Optional[str] = ...) -> None: ...

class SubmitVerdictResponse(_message.Message):
    __slots__ = ("verdict", "weight_set", "findings_changed")
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_SET_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    verdict: Verdict
    weight_set: _common_pb2.WeightSet
    findings_changed: int
    def __init__(self, verdict: _Optional[_Union[Verdict, _Mapping]] = ..., weight_set: _Optional[_Union[_common_pb2.WeightSet, _Mapping]] = ..., findings_changed: _Optional[int] = ...) -> None: ...

class ListVerdictsRequest(_message.Message):
    __slots__ = ("tenant_id", "finding_id", "page_size", "page_token")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    FINDING_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    finding_id: str
    page_size: int
    page_token: str
    def __init__(self, tenant_id: _Optional[str] = ..., finding_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListVerdictsResponse(_message.Message):
    __slots__ = ("verdicts", "next_page_token")
    VERDICTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    verdicts: _containers.RepeatedCompositeFieldContainer[Verdict]
    next_page_token: str
    def __init__(self, verdicts: _Optional[_Iterable[_Union[Verdict, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListWeightVersionsRequest(_message.Message):
    __slots__ = ("tenant_id", "page_size", "page_token")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    page_size: int
    page_token: str
    def __init__(self, tenant_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListWeightVersionsResponse(_message.Message):
    __slots__ = ("weight_sets", "next_page_token")
    WEIGHT_SETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    weight_sets: _containers.RepeatedCompositeFieldContainer[_common_pb2.WeightSet]
    next_page_token: str
    def __init__(self, weight_sets: _Optional[_Iterable[_Union[_common_pb2.WeightSet, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RollbackWeightsRequest(_message.Message):
    __slots__ = ("tenant_id", "version", "reason")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    version: int
    reason: str
    def __init__(self, tenant_id: _Optional[str] = ..., version: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class RollbackWeightsResponse(_message.Message):
    __slots__ = ("weight_set", "findings_changed")
    WEIGHT_SET_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    weight_set: _common_pb2.WeightSet
    findings_changed: int
    def __init__(self, weight_set: _Optional[_Union[_common_pb2.WeightSet, _Mapping]] = ..., findings_changed: _Optional[int] = ...) -> None: ...

class Suppression(_message.Message):
    __slots__ = ("suppression_id", "tenant_id", "user_id", "context", "reason", "created_by", "create_time", "expire_time")
    SUPPRESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    suppression_id: str
    tenant_id: str
    user_id: str
    context: _common_pb2.ContextValue
    reason: str
    created_by: str
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, suppression_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., context: _Optional[_Union[_common_pb2.ContextValue, _Mapping]] = ..., reason: _Optional[str] = ..., created_by: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateSuppressionRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id", "context", "reason", "expire_time")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    context: _common_pb2.ContextValue
    reason: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., context: _Optional[_Union[_common_pb2.ContextValue, _Mapping]] = ..., reason: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateSuppressionResponse(_message.Message):
    __slots__ = ("suppression",)
    SUPPRESSION_FIELD_NUMBER: _ClassVar[int]
    suppression: Suppression
    def __init__(self, suppression: _Optional[_Union[Suppression, _Mapping]] = ...) -> None: ...

class ListSuppressionsRequest(_message.Message):
    __slots__ = ("tenant_id", "include_expired", "page_size", "page_token")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    include_expired: bool
    page_size: int
    page_token: str
    def __init__(self, tenant_id: _Optional[str] = ..., include_expired: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSuppressionsResponse(_message.Message):
    __slots__ = ("suppressions", "next_page_token")
    SUPPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    suppressions: _containers.RepeatedCompositeFieldContainer[Suppression]
    next_page_token: str
    def __init__(self, suppressions: _Optional[_Iterable[_Union[Suppression, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteSuppressionRequest(_message.Message):
    __slots__ = ("tenant_id", "suppression_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSION_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    suppression_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., suppression_id: _Optional[str] = ...) -> None: ...

class DeleteSuppressionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SuppressionSuggestion(_message.Message):
    __slots__ = ("suppression", "finding_ids", "false_positives")
    SUPPRESSION_FIELD_NUMBER: _ClassVar[int]
    FINDING_IDS_FIELD_NUMBER: _ClassVar[int]
    FALSE_POSITIVES_FIELD_NUMBER: _ClassVar[int]
    suppression: Suppression
    finding_ids: _containers.RepeatedScalarFieldContainer[str]
    false_positives: int
    def __init__(self, suppression: _Optional[_Union[Suppression, _Mapping]] = ..., finding_ids: _Optional[_Iterable[str]] = ..., false_positives: _Optional[int] = ...) -> None: ...

class ListSuppressionSuggestionsRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class ListSuppressionSuggestionsResponse(_message.Message):
    __slots__ = ("suggestions",)
    SUGGESTIONS_FIELD_NUMBER: _ClassVar[int]
    suggestions: _containers.RepeatedCompositeFieldContainer[SuppressionSuggestion]
    def __init__(self, suggestions: _Optional[_Iterable[_Union[SuppressionSuggestion, _Mapping]]] = ...) -> None: ...
