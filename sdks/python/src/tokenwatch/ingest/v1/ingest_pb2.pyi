import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SourceFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SOURCE_FORMAT_UNSPECIFIED: _ClassVar[SourceFormat]
    SOURCE_FORMAT_MANAGEMENT_ACTIVITY: _ClassVar[SourceFormat]
    SOURCE_FORMAT_PURVIEW_CSV: _ClassVar[SourceFormat]
    SOURCE_FORMAT_GRAPH_SIGNINS: _ClassVar[SourceFormat]
    SOURCE_FORMAT_SENTINEL: _ClassVar[SourceFormat]
    SOURCE_FORMAT_AZURE_MONITOR: _ClassVar[SourceFormat]

class RecordOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECORD_OUTCOME_UNSPECIFIED: _ClassVar[RecordOutcome]
    RECORD_OUTCOME_ACCEPTED: _ClassVar[RecordOutcome]
    RECORD_OUTCOME_DUPLICATE: _ClassVar[RecordOutcome]
    RECORD_OUTCOME_REJECTED: _ClassVar[RecordOutcome]

class RejectReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REJECT_REASON_UNSPECIFIED: _ClassVar[RejectReason]
    REJECT_REASON_MALFORMED_JSON: _ClassVar[RejectReason]
    REJECT_REASON_MALFORMED_CSV: _ClassVar[RejectReason]
    REJECT_REASON_INVALID_UTF8: _ClassVar[RejectReason]
    REJECT_REASON_MISSING_FIELD: _ClassVar[RejectReason]
    REJECT_REASON_INVALID_FIELD: _ClassVar[RejectReason]
    REJECT_REASON_UNSUPPORTED_RECORD: _ClassVar[RejectReason]
    REJECT_REASON_TENANT_MISMATCH: _ClassVar[RejectReason]
    REJECT_REASON_RECORD_TOO_LARGE: _ClassVar[RejectReason]
    REJECT_REASON_EMPTY_DOCUMENT: _ClassVar[RejectReason]
    REJECT_REASON_EXPIRED: _ClassVar[RejectReason]
SOURCE_FORMAT_UNSPECIFIED: SourceFormat
SOURCE_FORMAT_MANAGEMENT_ACTIVITY: SourceFormat
SOURCE_FORMAT_PURVIEW_CSV: SourceFormat
SOURCE_FORMAT_GRAPH_SIGNINS: SourceFormat
SOURCE_FORMAT_SENTINEL: SourceFormat
SOURCE_FORMAT_AZURE_MONITOR: SourceFormat
RECORD_OUTCOME_UNSPECIFIED: RecordOutcome
RECORD_OUTCOME_ACCEPTED: RecordOutcome
RECORD_OUTCOME_DUPLICATE: RecordOutcome
RECORD_OUTCOME_REJECTED: RecordOutcome
REJECT_REASON_UNSPECIFIED: RejectReason
REJECT_REASON_MALFORMED_JSON: RejectReason
REJECT_REASON_MALFORMED_CSV: RejectReason
REJECT_REASON_INVALID_UTF8: RejectReason
REJECT_REASON_MISSING_FIELD: RejectReason
REJECT_REASON_INVALID_FIELD: RejectReason
REJECT_REASON_UNSUPPORTED_RECORD: RejectReason
REJECT_REASON_TENANT_MISMATCH: RejectReason
REJECT_REASON_RECORD_TOO_LARGE: RejectReason
REJECT_REASON_EMPTY_DOCUMENT: RejectReason
REJECT_REASON_EXPIRED: RejectReason

class Document(_message.Message):
    __slots__ = ("format", "content", "source_name")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    format: SourceFormat
    content: bytes
    source_name: str
    def __init__(self, format: _Optional[_Union[SourceFormat, str]] = ..., content: _Optional[bytes] = ..., source_name: _Optional[str] = ...) -> None: ...

class RecordResult(_message.Message):
    __slots__ = ("document_index", "record_index", "record_id", "outcome", "reason", "message")
    DOCUMENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    RECORD_INDEX_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    document_index: int
    record_index: int
    record_id: str
    outcome: RecordOutcome
    reason: RejectReason
    message: str
    def __init__(self, document_index: _Optional[int] = ..., record_index: _Optional[int] = ..., record_id: _Optional[str] = ..., outcome: _Optional[_Union[RecordOutcome, str]] = ..., reason: _Optional[_Union[RejectReason, str]] = ..., message: _Optional[str] = ...) -> None: ...

class IngestSummary(_message.Message):
    __slots__ = ("accepted", "duplicates", "rejected", "rejected_by_reason", "documents")
    class RejectedByReasonEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_BY_REASON_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    duplicates: int
    rejected: int
    rejected_by_reason: _containers.ScalarMap[str, int]
    documents: int
    def __init__(self, accepted: _Optional[int] = ..., duplicates: _Optional[int] = ..., rejected: _Optional[int] = ..., rejected_by_reason: _Optional[_Mapping[str, int]] = ..., documents: _Optional[int] = ...) -> None: ...

class IngestBatchRequest(_message.Message):
    __slots__ = ("tenant_id", "document")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    document: Document
    def __init__(self, tenant_id: _Optional[str] = ..., document: _Optional[_Union[Document, _Mapping]] = ...) -> None: ...

class IngestBatchResponse(_message.Message):
    __slots__ = ("summary", "results")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    summary: IngestSummary
    results: _containers.RepeatedCompositeFieldContainer[RecordResult]
    def __init__(self, summary: _Optional[_Union[IngestSummary, _Mapping]] = ..., results: _Optional[_Iterable[_Union[RecordResult, _Mapping]]] = ...) -> None: ...

class IngestStreamRequest(_message.Message):
    __slots__ = ("tenant_id", "document")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    document: Document
    def __init__(self, tenant_id: _Optional[str] = ..., document: _Optional[_Union[Document, _Mapping]] = ...) -> None: ...

class IngestStreamResponse(_message.Message):
    __slots__ = ("summary", "results")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    summary: IngestSummary
    results: _containers.RepeatedCompositeFieldContainer[RecordResult]
    def __init__(self, summary: _Optional[_Union[IngestSummary, _Mapping]] = ..., results: _Optional[_Iterable[_Union[RecordResult, _Mapping]]] = ...) -> None: ...

class QuarantinedRecord(_message.Message):
    __slots__ = ("tenant_id", "quarantine_id", "format", "source_name", "reason", "message", "content", "receive_time")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUARANTINE_ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    quarantine_id: str
    format: SourceFormat
    source_name: str
    reason: RejectReason
    message: str
    content: bytes
    receive_time: _timestamp_pb2.Timestamp
    def __init__(self, tenant_id: _Optional[str] = ..., quarantine_id: _Optional[str] = ..., format: _Optional[_Union[SourceFormat, str]] = ..., source_name: _Optional[str] = ..., reason: _Optional[_Union[RejectReason, str]] = ..., message: _Optional[str] = ..., content: _Optional[bytes] = ..., receive_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListQuarantinedRecordsRequest(_message.Message):
    __slots__ = ("tenant_id", "page_size", "page_token")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    page_size: int
    page_token: str
    def __init__(self, tenant_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListQuarantinedRecordsResponse(_message.Message):
    __slots__ = ("records", "next_page_token")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[QuarantinedRecord]
    next_page_token: str
    def __init__(self, records: _Optional[_Iterable[_Union[QuarantinedRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetIngestStatsRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class GetIngestStatsResponse(_message.Message):
    __slots__ = ("events", "raw_records", "rejected", "newest_event_time", "last_receive_time")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    RAW_RECORDS_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    NEWEST_EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_RECEIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    events: int
    raw_records: int
    rejected: int
    newest_event_time: _timestamp_pb2.Timestamp
    last_receive_time: _timestamp_pb2.Timestamp
    def __init__(self, events: _Optional[int] = ..., raw_records: _Optional[int] = ..., rejected: _Optional[int] = ..., newest_event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_receive_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListConnectorStatusRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class ListConnectorStatusResponse(_message.Message):
    __slots__ = ("sources",)
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    sources: _containers.RepeatedCompositeFieldContainer[ConnectorSourceStatus]
    def __init__(self, sources: _Optional[_Iterable[_Union[ConnectorSourceStatus, _Mapping]]] = ...) -> None: ...

class ConnectorSourceStatus(_message.Message):
    __slots__ = ("tenant_id", "source", "enabled", "healthy", "checkpoint", "lag", "last_success_time", "last_attempt_time", "records_pulled", "records_new", "records_rejected", "throttled", "last_error", "last_error_time", "tenant_error", "next_pull_time")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    LAG_FIELD_NUMBER: _ClassVar[int]
    LAST_SUCCESS_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    RECORDS_PULLED_FIELD_NUMBER: _ClassVar[int]
    RECORDS_NEW_FIELD_NUMBER: _ClassVar[int]
    RECORDS_REJECTED_FIELD_NUMBER: _ClassVar[int]
    THROTTLED_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_TIME_FIELD_NUMBER: _ClassVar[int]
    TENANT_ERROR_FIELD_NUMBER: _ClassVar[int]
    NEXT_PULL_TIME_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    source: str
    enabled: bool
    healthy: bool
    checkpoint: _timestamp_pb2.Timestamp
    lag: _duration_pb2.Duration
    last_success_time: _timestamp_pb2.Timestamp
    last_attempt_time: _timestamp_pb2.Timestamp
    records_pulled: int
    records_new: int
    records_rejected: int
    throttled: int
    last_error: str
    last_error_time: _timestamp_pb2.Timestamp
    tenant_error: str
    next_pull_time: _timestamp_pb2.Timestamp
    def __init__(self, tenant_id: _Optional[str] = ..., source: _Optional[str] = ..., enabled: _Optional[bool] = ..., healthy: _Optional[bool] = ..., checkpoint: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., lag: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., last_success_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., records_pulled: _Optional[int] = ..., records_new: _Optional[int] = ..., records_rejected: _Optional[int] = ..., throttled: _Optional[int] = ..., last_error: _Optional[str] = ..., last_error_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tenant_error: _Optional[str] = ..., next_pull_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
