import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tokenwatch.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ContextWeight(_message.Message):
    __slots__ = ("context", "weight", "share", "first_seen_time", "last_seen_time")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.ContextValue
    weight: float
    share: float
    first_seen_time: _timestamp_pb2.Timestamp
    last_seen_time: _timestamp_pb2.Timestamp
    def __init__(self, context: _Optional[_Union[_common_pb2.ContextValue, _Mapping]] = ..., weight: _Optional[float] = ..., share: _Optional[float] = ..., first_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Distribution(_message.Message):
    __slots__ = ("samples", "mean", "median", "p95", "mad")
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_FIELD_NUMBER: _ClassVar[int]
    P95_FIELD_NUMBER: _ClassVar[int]
    MAD_FIELD_NUMBER: _ClassVar[int]
    samples: int
    mean: float
    median: float
    p95: float
    mad: float
    def __init__(self, samples: _Optional[int] = ..., mean: _Optional[float] = ..., median: _Optional[float] = ..., p95: _Optional[float] = ..., mad: _Optional[float] = ...) -> None: ...

class UserBaseline(_message.Message):
    __slots__ = ("tenant_id", "user_id", "contexts", "operations_per_session", "operations_per_hour", "hour_of_day", "events_seen", "sessions_seen", "half_life_hours", "cold_start", "update_time")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXTS_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_PER_SESSION_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_PER_HOUR_FIELD_NUMBER: _ClassVar[int]
    HOUR_OF_DAY_FIELD_NUMBER: _ClassVar[int]
    EVENTS_SEEN_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_SEEN_FIELD_NUMBER: _ClassVar[int]
    HALF_LIFE_HOURS_FIELD_NUMBER: _ClassVar[int]
    COLD_START_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    contexts: _containers.RepeatedCompositeFieldContainer[ContextWeight]
    operations_per_session: Distribution
    operations_per_hour: Distribution
    hour_of_day: _containers.RepeatedScalarFieldContainer[float]
    events_seen: int
    sessions_seen: int
    half_life_hours: float
    cold_start: bool
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., contexts: _Optional[_Iterable[_Union[ContextWeight, _Mapping]]] = ..., operations_per_session: _Optional[_Union[Distribution, _Mapping]] = ..., operations_per_hour: _Optional[_Union[Distribution, _Mapping]] = ..., hour_of_day: _Optional[_Iterable[float]] = ..., events_seen: _Optional[int] = ..., sessions_seen: _Optional[int] = ..., half_life_hours: _Optional[float] = ..., cold_start: _Optional[bool] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetUserBaselineRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class GetUserBaselineResponse(_message.Message):
    __slots__ = ("baseline",)
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    baseline: UserBaseline
    def __init__(self, baseline: _Optional[_Union[UserBaseline, _Mapping]] = ...) -> None: ...

class RebuildBaselinesRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class RebuildBaselinesResponse(_message.Message):
    __slots__ = ("users_rebuilt", "events_replayed")
    USERS_REBUILT_FIELD_NUMBER: _ClassVar[int]
    EVENTS_REPLAYED_FIELD_NUMBER: _ClassVar[int]
    users_rebuilt: int
    events_replayed: int
    def __init__(self, users_rebuilt: _Optional[int] = ..., events_replayed: _Optional[int] = ...) -> None: ...

class GetBaselineStatsRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class GetBaselineStatsResponse(_message.Message):
    __slots__ = ("users", "cold_start_users", "hot_users", "last_snapshot_time", "population")
    USERS_FIELD_NUMBER: _ClassVar[int]
    COLD_START_USERS_FIELD_NUMBER: _ClassVar[int]
    HOT_USERS_FIELD_NUMBER: _ClassVar[int]
    LAST_SNAPSHOT_TIME_FIELD_NUMBER: _ClassVar[int]
    POPULATION_FIELD_NUMBER: _ClassVar[int]
    users: int
    cold_start_users: int
    hot_users: int
    last_snapshot_time: _timestamp_pb2.Timestamp
    population: _containers.RepeatedCompositeFieldContainer[ContextWeight]
    def __init__(self, users: _Optional[int] = ..., cold_start_users: _Optional[int] = ..., hot_users: _Optional[int] = ..., last_snapshot_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., population: _Optional[_Iterable[_Union[ContextWeight, _Mapping]]] = ...) -> None: ...
