"""Settings: a TOML or YAML file, then ``VMSSDASH_*`` environment variables, then flags.

Each layer is merged into one dict before pydantic validates it, so a bad value is
reported once, naming the key and the layer it came from, in a single line.
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from vmssdash import paths
from vmssdash.core.steps import StepError, parse_steps

ENV_PREFIX = "VMSSDASH_"
# VMSSDASH_* variables that steer the program but are not settings.
_NON_SETTING_ENV = {"CONFIG", "DISABLE_MANAGED_IDENTITY"}

AuthMode = Literal[
    "none", "auto", "env", "cli", "managed-identity", "cache", "device-code", "browser"
]
AUTH_MODES: tuple[str, ...] = get_args(AuthMode)

# The Azure CLI's public client id: works in every tenant for user sign-in without an
# app registration, which is what azure-identity's developer credentials use too.
DEFAULT_PUBLIC_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


class ConfigError(ValueError):
    """A settings problem; ``str()`` is one line that names the offending key."""


class CustomCloudSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "custom"
    authority_host: str
    arm_endpoint: str
    arm_scope: str
    instance_discovery: bool = False
    ca_file: Path | None = None
    """CA bundle that signs the authority's certificate (private clouds, the simulator)."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    cloud: str = "AzureCloud"
    """AzureCloud, AzureChinaCloud, AzureUSGovernment, or custom (see custom_cloud)."""
    custom_cloud: CustomCloudSettings | None = None
    auth: AuthMode = "auto"
    """How to get tokens; `auto` tries env SP, managed identity, az CLI, cache, then sign-in."""
    tenant_id: str | None = None
    client_id: str | None = None
    """App registration for user sign-in; defaults to the Azure CLI's public client."""
    client_secret: SecretStr | None = None
    """Allowed only in a config file that nobody but you can read (0600)."""
    client_certificate_path: Path | None = None
    subscription: str | None = None
    endpoint: str | None = None
    """ARM endpoint override, e.g. the simulator's URL; the cloud's endpoint otherwise."""
    ca_bundle: Path | None = None
    """CA bundle (PEM) to trust for a TLS endpoint, e.g. the simulator's ``--tls`` CA."""
    read_only: bool = False
    theme: str = "textual-dark"
    refresh_interval: float = Field(default=5.0, ge=2.0, le=600.0)
    """Seconds between polls; at least 2 so a big scale set cannot be hammered."""
    journal_dir: Path = Field(default_factory=paths.journal_dir)
    keymap: dict[str, str] = Field(default_factory=dict)
    """Binding id -> keys, e.g. {"quit": "q,ctrl+c"}."""
    strategies: dict[str, list[str]] = Field(default_factory=dict)
    """Named step lists for plans, e.g. {"careful": ["canary 1", "bake PT10M", "ud"]}."""
    interactive: Literal["auto", "device-code", "browser"] = "auto"
    """Which sign-in `auto` falls back to when nothing else works."""
    persist_token_cache: bool = True
    """False keeps tokens in memory only (shared jump boxes)."""
    managed_identity_client_id: str | None = None

    @field_validator("tenant_id")
    @classmethod
    def _tenant_chars(cls, value: str | None) -> str | None:
        if value is not None and not all(c.isalnum() or c in "-." for c in value):
            raise ValueError("tenant id may contain only letters, digits, '-' and '.'")
        return value

    @field_validator("strategies")
    @classmethod
    def _strategies_parse(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, steps in value.items():
            try:
                parse_steps(steps)
            except StepError as exc:
                raise ValueError(f"strategy {name!r}: {exc}") from None
        return value

    def masked(self) -> dict[str, Any]:
        """A JSON-ready dict for display: secrets appear as ``'****'`` or ``None``."""
        data = self.model_dump(mode="json")
        if self.client_secret is not None:
            data["client_secret"] = "****"
        return data

    def identity_hint(self) -> str:
        return self.tenant_id or "default tenant"


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"config file {path} is not valid: {first}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a table of settings at the top level")
    if data.get("client_secret") and _readable_by_others(path):
        raise ConfigError(
            f"config file {path} holds client_secret but others can read it; run: chmod 600 {path}"
        )
    return data


def _readable_by_others(path: Path) -> bool:
    if os.name != "posix":
        return False
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def _env_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    """``VMSSDASH_FOO=1`` -> ``{"foo": "1"}``; ``VMSSDASH_KEYMAP__QUIT=q`` nests with ``__``.

    Dict- and model-valued settings also accept JSON (``VMSSDASH_KEYMAP='{"quit": "q"}'``).
    Unknown names are left alone: other tools and sessions may share the prefix.
    """
    layer: dict[str, Any] = {}
    fields = Settings.model_fields
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX) :]
        if rest in _NON_SETTING_ENV:
            continue
        parts = rest.lower().split("__")
        if parts[0] not in fields:
            continue
        value: Any = raw
        if len(parts) == 1 and raw.lstrip().startswith("{"):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{name}: not valid JSON ({exc.msg})") from exc
        target = layer
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ConfigError(f"{name}: conflicts with another {ENV_PREFIX} variable")
        target[parts[-1]] = value
    return layer


def _merge(base: dict[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overlay.items():
        if value is None:
            continue
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _describe(err: ValidationError, sources: dict[str, str]) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
    top = str(first["loc"][0]) if first["loc"] else ""
    where = sources.get(top, "settings")
    if first["type"] == "extra_forbidden":
        return f"{where}: unknown setting {loc!r}"
    msg = first["msg"]
    given = first.get("input")
    shown = "" if top == "client_secret" or isinstance(given, dict) else f" (got {given!r})"
    return f"{where}: setting {loc!r}: {msg}{shown}"


def load_settings(
    cli_overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> Settings:
    """Build the effective settings: file < environment < flags (``None`` flags are skipped)."""
    env = os.environ if environ is None else environ
    if path is None:
        override = env.get(paths.CONFIG_ENV)
        path = Path(override).expanduser() if override else paths.config_file()
        if override and not path.exists():
            raise ConfigError(f"{paths.CONFIG_ENV} points at {path}, which does not exist")
    file_layer = _read_file(path)
    env_layer = _env_layer(env)
    flags = {k: v for k, v in (cli_overrides or {}).items() if v is not None}
    if "client_secret" in flags:
        raise ConfigError("client_secret cannot be given on the command line; use the environment")
    sources: dict[str, str] = {}
    for key in file_layer:
        sources[key] = f"config file {path}"
    for key in env_layer:
        sources[key] = f"environment variable {ENV_PREFIX}{key.upper()}"
    for key in flags:
        sources[key] = f"option --{key.replace('_', '-')}"
    merged = _merge(_merge(file_layer, env_layer), flags)
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, sources)) from None


def save_setting(key: str, value: str, *, path: Path | None = None) -> Path | None:
    """Write one top-level string setting into the config file; returns the file written.

    Used for choices made inside the app (the palette's theme). A TOML file is edited line
    by line so its comments and layout survive; a YAML file is rewritten. A config path that
    is not a regular file (``VMSSDASH_CONFIG=/dev/null``) is left alone: None.
    """
    if key not in Settings.model_fields:
        raise ConfigError(f"unknown setting {key!r}")
    target = path or paths.config_file()
    if target.exists() and not target.is_file():
        return None
    text = target.read_text(encoding="utf-8") if target.exists() else ""
    if target.suffix.lower() in (".yaml", ".yml"):
        data = yaml.safe_load(text) or {}
        data[key] = value
        new_text = yaml.safe_dump(data, sort_keys=False)
    else:
        new_text = _toml_with(text, key, value)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(new_text)
    os.replace(tmp, target)
    return target


def _toml_with(text: str, key: str, value: str) -> str:
    """``text`` with ``key = "value"`` set at the top level (before the first table)."""
    line = f"{key} = {json.dumps(value)}"
    lines = text.splitlines()
    first_table = next((i for i, raw in enumerate(lines) if raw.lstrip().startswith("[")), None)
    top = lines if first_table is None else lines[:first_table]
    for i, raw in enumerate(top):
        if raw.split("=", 1)[0].strip() == key:
            lines[i] = line
            break
    else:
        lines.insert(first_table if first_table is not None else len(lines), line)
    return "\n".join(lines) + "\n"
