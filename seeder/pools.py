"""Deterministic text pools: Faker (seeded with --seed) plus the shipped phrase lists.

Pools are small lists shipped into a temporary table `seed_pool(kind, idx, v)`;
templates pick from them by the hash of a row key, so no row data passes
through Python. Faker is imported only here, and only when pools are built.
"""

from __future__ import annotations

from pathlib import Path

# (kind, Faker method, size): names and places for a Philippine platform.
_FAKER_POOLS = [
    ("first_name", "first_name", 240),
    ("last_name", "last_name", 240),
    ("middle_name", "last_name", 120),
    ("province", "province", 60),
    ("city", "city", 120),
    ("street", "street_address", 160),
    ("mobile", "mobile_number", 200),
]


def _unique(draw, size: int) -> list[str]:
    """Exactly `size` values, distinct while Faker has enough variety, then repeated.

    The size is fixed so templates can be rendered (they need pool sizes) without
    importing Faker: a satisfied run never builds pools at all.
    """
    values: list[str] = []
    seen: set[str] = set()
    attempts = 0
    while len(values) < size and attempts < size * 50:
        attempts += 1
        value = str(draw()).strip()
        if value and value not in seen:
            seen.add(value)
            values.append(value)
    while len(values) < size:
        values.append(values[len(values) % max(len(seen), 1)])
    return values


def faker_pools(seed: int) -> dict[str, list[str]]:
    """Cached per seed, Faker version and pool spec: importing Faker alone costs ~0.3 s."""
    import hashlib
    from importlib.metadata import version

    from . import cache

    spec = hashlib.sha256(repr(_FAKER_POOLS).encode()).hexdigest()[:12]
    name = f"pools-{seed}-faker{version('faker')}-{spec}.json"
    pools = cache.load_json(name)
    if not isinstance(pools, dict):
        pools = _generate(seed)
        cache.store_json(name, pools)
    return pools


def _generate(seed: int) -> dict[str, list[str]]:
    from faker import Faker

    fake = Faker("en_PH")
    fake.seed_instance(seed)
    return {kind: _unique(getattr(fake, method), size) for kind, method, size in _FAKER_POOLS}


def content_pools(dirs: list[Path]) -> dict[str, list[str]]:
    """Phrase lists: one entry per line in `_content/<kind>.txt`; `#` lines are comments."""
    pools: dict[str, list[str]] = {}
    # dirs lists the user's directories first; apply built-ins first so a user's list wins.
    for directory in reversed(dirs):
        for path in sorted((directory / "_content").glob("*.txt")):
            lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
            entries = [ln for ln in lines if ln and not ln.startswith("#")]
            if entries:
                pools[path.stem] = entries
    return pools


def build(seed: int, template_dirs: list[Path]) -> dict[str, list[str]]:
    pools = faker_pools(seed)
    pools.update(content_pools(template_dirs))
    return pools


def planned_sizes(template_dirs: list[Path]) -> dict[str, int]:
    """Pool sizes without building the Faker pools (their sizes are fixed)."""
    out = {kind: size for kind, _method, size in _FAKER_POOLS}
    out.update(sizes(content_pools(template_dirs)))
    return out


def sizes(pools: dict[str, list[str]]) -> dict[str, int]:
    return {kind: len(values) for kind, values in pools.items()}


def rows(pools: dict[str, list[str]]):
    """(kind, idx, value) in a stable order, for COPY or VALUES."""
    for kind in sorted(pools):
        for idx, value in enumerate(pools[kind]):
            yield kind, idx, value
