"""Every Redis key the API uses, in one place, each with a Redis Cluster hash tag.

In a Redis Cluster a key's slot is the hash of its `{tag}` only, and one command, pipeline
or Lua script may touch keys of one slot. The keys that are used together share a tag:

    <prefix>{u:<user id>}:authv         the user's credential epoch (credentials.py)
    <prefix>{u:<user id>}:rl            the user's request count in the current window
    <prefix>{u:<user id>}:wal           WAL position of the user's last write (read_router.py)
    <prefix>{u:<user id>}:photo:<id>    a cached photo of the user (photo_cache.py)
    <prefix>{c:<sha256 hex>}:auth       a credential found valid: "<user id> <epoch>"
    <prefix>{a:<address>}:rl:<kind>     per client address: register, login, badtoken
    <prefix>{e:<sha256 of email>}:rl:loginfail   failed logins of one account

So a request's credential check, rate limit and read-your-writes position are one script
on the user's slot. The prefix holds no braces (Settings), so the tag is the first `{...}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class RedisKeys:
    prefix: str

    def user(self, user_id: UUID | str, name: str) -> str:
        return f"{self.prefix}{{u:{user_id}}}:{name}"

    def credential(self, digest: bytes) -> str:
        return f"{self.prefix}{{c:{digest.hex()}}}:auth"

    def address(self, address: str, kind: str) -> str:
        return f"{self.prefix}{{a:{address}}}:rl:{kind}"

    def login_failures(self, email_digest: str) -> str:
        return f"{self.prefix}{{e:{email_digest}}}:rl:loginfail"
