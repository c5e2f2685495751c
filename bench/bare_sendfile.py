"""The floor under any blob GET benchmark here: a bare HTTP/1.1 server that answers every GET
with one file, sent by sendfile(2) with no storage, routing or hashing in front of it.

bench/registry.sh times it with the same curl as the two registries, so it shows the fastest a
server can deliver a blob to that client on this machine. Usage: bare_sendfile.py PORT FILE
"""

import os
import socket
import sys


def serve(port: int, path: str) -> None:
    size = os.path.getsize(path)
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {size}\r\nConnection: close\r\n\r\n"
    ).encode()
    listener = socket.create_server(("127.0.0.1", port))
    while True:
        connection, _ = listener.accept()
        with connection, open(path, "rb") as blob:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                request += chunk
            else:
                connection.sendall(head)
                if not request.startswith(b"HEAD "):
                    sent = 0
                    while sent < size:
                        sent += os.sendfile(connection.fileno(), blob.fileno(), sent, size - sent)


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2])
