"""Config as code: load YAML with source positions, validate it, build the typed model."""

from engine.config.errors import ConfigError, ConfigErrors, Position
from engine.config.loader import load_config
from engine.config.model import Config

__all__ = ["Config", "ConfigError", "ConfigErrors", "Position", "load_config"]
