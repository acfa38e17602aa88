"""The guard itself: loopback works, anything else fails loudly (so an accidental hub call breaks the suite)."""

import socket
import threading

import pytest

from tests.conftest import NetworkAccessError


@pytest.mark.parametrize("address", [("93.184.216.34", 443), ("10.0.0.1", 80), ("2001:db8::1", 443)])
def test_non_loopback_connect_is_refused(address):
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock, pytest.raises(NetworkAccessError):
        sock.connect(address)


def test_hub_hostname_lookup_is_refused():
    with pytest.raises(NetworkAccessError):
        socket.getaddrinfo("huggingface.co", 443)


def test_loopback_connect_works():
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    accepted = threading.Thread(target=lambda: server.accept()[0].close())
    accepted.start()
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    accepted.join(timeout=5)
    server.close()
