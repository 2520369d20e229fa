"""Redis adapters of the core ports: turn stream, locks, live bus, rate limits, embedded server."""

from conversation.rediskit.bus import LiveSubscriptionLost, RedisLiveBus
from conversation.rediskit.client import connect_redis, mask_url
from conversation.rediskit.embedded import EmbeddedRedis, embedded_redis_command
from conversation.rediskit.locks import RedisConversationLocks
from conversation.rediskit.ratelimit import RedisRateLimiter
from conversation.rediskit.streams import RedisTurnQueue, StreamDelivery

__all__ = [
    "RedisLiveBus",
    "LiveSubscriptionLost",
    "connect_redis",
    "mask_url",
    "EmbeddedRedis",
    "embedded_redis_command",
    "RedisConversationLocks",
    "RedisRateLimiter",
    "RedisTurnQueue",
    "StreamDelivery",
]
