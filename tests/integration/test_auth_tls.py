"""TLS without a proxy: `alco web` with [web] tls_cert / tls_key (a self-signed certificate
made by openssl here) answers https only, with HSTS."""

from __future__ import annotations

import ssl
import subprocess

import httpx
import pytest

from alco.clients.api import Api

pytestmark = pytest.mark.integration


def self_signed(stack) -> tuple[str, str]:
    cert, key = stack.tmp / "cert.pem", stack.tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


def test_the_web_app_speaks_tls_itself_and_sends_hsts(stack, monkeypatch):
    cert, key = self_signed(stack)
    stack.index()
    stack.data["web"].update(tls_cert=cert, tls_key=key, tokens=["t0k"])
    stack.web()
    bind = stack.data["web"]["bind"]
    trusted = ssl.create_default_context(cafile=cert)
    with httpx.Client(verify=trusted) as client:
        ok = client.get(f"https://{bind}/healthz")
        assert ok.status_code == 200 and ok.text == "ok"
        assert ok.headers["strict-transport-security"] == "max-age=31536000"
        refused = client.get(f"https://{bind}/api/indexes")
        assert refused.status_code == 401 and "strict-transport-security" in refused.headers
    with pytest.raises(httpx.ConnectError):  # nobody trusts a certificate it never saw
        httpx.get(f"https://{bind}/healthz")
    with pytest.raises(httpx.HTTPError):  # and nothing is said in clear
        httpx.get(f"http://{bind}/healthz").raise_for_status()
    api_url = stack.config().web.api_url
    assert api_url == f"https://{bind}"  # where alco grep goes, trusting SSL_CERT_FILE's
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    assert Api(api_url, "t0k").get("/api/shortcuts") == {"shortcuts": []}
