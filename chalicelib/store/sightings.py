"""Device and network sightings for the risk engine: which users were seen on a device or an IP address.

`DEV#<hmac(device id)>` / `USER#<id>` and `IP#<hmac(ip)>` / `USER#<id>`, each with first and last seen, a
count and the last action. A Query on one device or IP lists the accounts that share it (cluster checks).
Device ids and addresses are stored only as blind indexes. GSI2 (`SEEN#<user>`) lists one user's sightings.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.adapters import clock, crypto
from chalicelib.config import settings
from chalicelib.store import keys
from chalicelib.store.base import Item, table_client

ACTIONS = frozenset({"register", "login", "claim", "proof", "withdrawal"})


class SightingItem(Item, discriminator="sighting"):
    user_id = UnicodeAttribute()
    first_seen = UnicodeAttribute()
    last_seen = UnicodeAttribute()
    last_action = UnicodeAttribute()
    seen = NumberAttribute()


def _touch(pk: str, sk: str, user_id: str, action: str, now_iso: str) -> None:
    table_client().update_item(
        TableName=settings().table_name,
        Key={"PK": {"S": pk}, "SK": {"S": sk}},
        UpdateExpression=(
            "SET #kind = :kind, user_id = :uid, last_seen = :now, last_action = :act, "
            "first_seen = if_not_exists(first_seen, :now), GSI2PK = :seen, GSI2SK = :pk ADD seen :one"
        ),
        ExpressionAttributeNames={"#kind": "kind"},
        ExpressionAttributeValues={
            ":kind": {"S": "sighting"},
            ":uid": {"S": user_id},
            ":now": {"S": now_iso},
            ":act": {"S": action},
            ":one": {"N": "1"},
            # GSI2: the same sighting under the user, so the risk engine can list a user's devices and addresses.
            ":seen": {"S": keys.user_sightings(user_id)},
            ":pk": {"S": pk},
        },
    )


def record_sighting(user_id: str, device_id: str | None, ip: str | None, action: str) -> None:
    """Note that `user_id` did `action` from this device and address (either may be unknown)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown sighting action {action!r}")
    now_iso = clock.now().isoformat(timespec="seconds").replace("+00:00", "Z")
    if device_id:
        _touch(*keys.device_sighting(crypto.blind_index("device", device_id), user_id), user_id, action, now_iso)
    if ip and ip != "0.0.0.0":  # noqa: S104 - the web layer's "unknown address", not a bind
        _touch(*keys.ip_sighting(crypto.blind_index("ip", ip), user_id), user_id, action, now_iso)


def users_on_device(device_id: str) -> list[SightingItem]:
    return list(SightingItem.query(keys.device_sightings(crypto.blind_index("device", device_id))))


def users_on_ip(ip: str) -> list[SightingItem]:
    return list(SightingItem.query(keys.ip_sightings(crypto.blind_index("ip", ip))))


def users_on_device_hash(device_hash: str) -> list[SightingItem]:
    return list(SightingItem.query(keys.device_sightings(device_hash)))


def users_on_ip_hash(ip_hash: str) -> list[SightingItem]:
    return list(SightingItem.query(keys.ip_sightings(ip_hash)))


def of_user(user_id: str) -> list[SightingItem]:
    """Every device and address a user was seen on (GSI2; `GSI2SK` is the `DEV#…`/`IP#…` partition)."""
    return list(SightingItem.gsi2.query(keys.user_sightings(user_id)))
