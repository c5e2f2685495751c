"""A blob GET client that costs next to nothing: it sends one HTTP/1.1 GET and moves the body
from the socket to /dev/null with splice(2), so the bytes never enter user space.

curl, like every real client, copies each byte out of the socket, and on two cores that copy
is as dear as the fastest server's sending: a curl-timed GET measures the client as much as
the server. With this receiver the time is the server's (and the kernel's) alone.

Usage: splice_get.py URL. Prints the seconds the body took, from the request sent to its last
byte; exits non-zero unless the answer is a 200 whose body is as long as its Content-Length.
"""

import fcntl
import os
import socket
import sys
import time
import urllib.parse

PIPE_CHUNK = 1 << 20


def read_head(connection: socket.socket) -> tuple[bytes, bytes]:
    """The status line and headers, and whatever part of the body came with them."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            sys.exit("the server closed the connection before the end of its headers")
        received += chunk
    head, _, body_start = received.partition(b"\r\n\r\n")
    return head, body_start


def content_length(head: bytes) -> int:
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].split(" ")[1:2] == ["200"]:
        sys.exit(f"the server answered {lines[0]!r}")
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            return int(value.strip())
    sys.exit("the answer has no Content-Length")


def get(url: str) -> float:
    parts = urllib.parse.urlsplit(url)
    connection = socket.create_connection((parts.hostname, parts.port or 80))
    started = time.perf_counter()
    connection.sendall(
        f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode()
    )
    head, body_start = read_head(connection)
    remaining = content_length(head) - len(body_start)
    pipe_read, pipe_write = os.pipe()
    fcntl.fcntl(pipe_write, fcntl.F_SETPIPE_SZ, PIPE_CHUNK)
    with open(os.devnull, "wb") as sink:
        while remaining > 0:
            moved = os.splice(connection.fileno(), pipe_write, min(remaining, PIPE_CHUNK))
            if moved == 0:
                sys.exit(f"the body ended {remaining} bytes short")
            remaining -= moved
            while moved > 0:
                moved -= os.splice(pipe_read, sink.fileno(), moved)
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


if __name__ == "__main__":
    print(f"{get(sys.argv[1]):.6f}")
