"""Fill a gateway config template with the run's addresses.

Placeholders are ``${dotted.name}``: ``${upstreams.<name>.base_url}``, ``${audit_path}``,
``${gpu_control_file}``, ``${keys_file}``, ``${config_file}`` and anything else the runner puts in
the values mapping. ``$${`` writes a literal ``${``. An unknown placeholder is an error, not an
empty string: a half-filled gateway config would silently route somewhere else.

>>> fill_template("url: ${upstreams.a.base_url}", {"upstreams.a.base_url": "http://h:1/v1"})
'url: http://h:1/v1'
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from chaos.errors import ScenarioError
from governance.errors import Location
from governance.registry import did_you_mean

_PLACEHOLDER = re.compile(r"\$(\$)?\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")


def fill_template(text: str, values: Mapping[str, str], *, file: str | None = None) -> str:
    """Replace every ``${name}`` in ``text``.

    Raises:
        ScenarioError: a placeholder has no value (names the line and the closest names).
    """

    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            return "${" + match.group(2) + "}"
        name = match.group(2)
        if name not in values:
            line = text.count("\n", 0, match.start()) + 1
            hint = did_you_mean(name, values)
            raise ScenarioError(
                f"unknown template placeholder ${{{name}}}{hint}",
                location=Location(file, line),
            )
        return str(values[name])

    return _PLACEHOLDER.sub(replace, text)
