"""Every messaging channel variable project/settings.py reads is documented (issue 19)."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PREFIXES = ("WHATSAPP_", "ULTRAMSG_", "SMS_", "CHANNEL_")


def channel_variables() -> set[str]:
    source = (ROOT / "project" / "settings.py").read_text()
    names = set(re.findall(r'env_(?:str|int|bool|list)\("([A-Z0-9_]+)"', source))
    return {name for name in names if name.startswith(PREFIXES)}


def test_the_readme_configuration_table_lists_every_channel_variable():
    readme = (ROOT / "README.md").read_text()
    variables = channel_variables()
    assert {"WHATSAPP_CLOUD_APP_SECRET", "SMS_GATEWAY_URL", "CHANNEL_BREAKER_FAILURES"} <= variables
    missing = sorted(name for name in variables if f"`{name}`" not in readme)
    assert missing == []


def test_app_json_names_the_optional_secrets_and_addresses():
    env = json.loads((ROOT / "app.json").read_text())["env"]
    for name in (
        "WHATSAPP_CLOUD_APP_SECRET",
        "WHATSAPP_CLOUD_TOKEN",
        "ULTRAMSG_WEBHOOK_SECRET",
        "SMS_PROVIDER",
        "SMS_GATEWAY_URL",
    ):
        assert env[name]["required"] is False, name
