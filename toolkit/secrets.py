"""Which environment variables hold secrets: never handed to processes that do not need them."""

from __future__ import annotations

import re
from collections.abc import Mapping

# A name is a secret's when one of its words (split at `_`) contains one of these; the
# words of TOKENIZERS_PARALLELISM and the like are not secrets.
_SECRET_PARTS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL", "CONNECTIONSTRING")
_NOT_SECRET_WORDS = frozenset({"TOKENIZER", "TOKENIZERS"})


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name looks like it holds a secret (API key, token, password...)."""
    words = re.split(r"[^A-Z0-9]+", name.upper().replace("CONNECTION_STRING", "CONNECTIONSTRING"))
    return any(part in word for word in words if word not in _NOT_SECRET_WORDS for part in _SECRET_PARTS)


def without_secrets(env: Mapping[str, str]) -> dict[str, str]:
    """`env` less every variable whose name looks like a secret's."""
    return {name: value for name, value in env.items() if not is_secret_name(name)}
