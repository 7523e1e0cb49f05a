"""Typed settings from the environment and the rules/destinations YAML.

Error tree::

    ConfigError            a setting or the rules file is invalid; the message names the key
     └── RulesFileError    the YAML file is invalid; carries the file path and line
"""
