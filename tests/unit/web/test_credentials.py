"""Credentials limited to indexes: the config's entries, the environment's form, lookups."""

from __future__ import annotations

import pytest

from alco.config import ConfigError, parse, split_scope
from alco.web.credentials import Credentials, token_name

TWO = {"index": [{"name": "shop"}, {"name": "billing"}]}


def test_an_entry_may_end_in_the_indexes_it_opens():
    assert split_scope("t-all") == ("t-all", None)
    assert split_scope("t-shop=shop") == ("t-shop", ("shop",))
    assert split_scope("ann:pw=shop,billing") == ("ann:pw", ("shop", "billing"))
    assert split_scope("base64ish==") == ("base64ish==", None)


def test_the_environment_form_regroups_indexes_and_unknown_indexes_are_errors():
    env = {"ALCO_WEB_TOKENS": "t-all,t-shop=shop,billing,t-b=billing",
           "ALCO_WEB_BASIC_AUTH": "ann:pw=shop,billing,bob:pw2"}
    web = parse(TWO, "t.toml", env).web
    assert web.tokens == ("t-all", "t-shop=shop,billing", "t-b=billing")
    assert web.basic_auth == ("ann:pw=shop,billing", "bob:pw2")
    with pytest.raises(ConfigError, match="web.tokens: entry 2 is limited to shpo") as err:
        parse({**TWO, "web": {"tokens": ["x", "s3cret=shpo"]}}, "t.toml", {})
    assert "s3cret" not in str(err.value)
    with pytest.raises(ConfigError, match="tls_key"):
        parse({"web": {"tls_cert": "c.pem"}}, "t.toml", {})


def test_lookups_give_the_principal_and_its_indexes():
    web = parse({**TWO, "web": {"tokens": ["t-all", "t-shop=shop"],
                                "basic_auth": ["ann:pw=billing"],
                                "ingest_tokens": ["ship=shop"]}}, "t.toml", {}).web
    creds = Credentials(web)
    shop = creds.token("t-shop", ingest=False)
    assert shop is not None and shop.may("shop") and not shop.may("billing")
    assert shop.name == token_name("t-shop") and "t-shop" not in shop.name
    assert creds.token("t-shop=shop", ingest=False) is None  # the secret is before the =
    assert creds.user("ann:pw").name == "user:ann" and creds.user("ann:pw").may("billing")
    assert creds.token("ship", ingest=False) is None
    assert creds.token("ship", ingest=True).ingest_only
    assert creds.named("user:ann") == creds.user("ann:pw")
    assert web.first_token == "t-all" and web.first_basic == "ann:pw"
