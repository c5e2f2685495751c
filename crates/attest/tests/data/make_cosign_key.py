"""Writes cosign.key and cosign.pub: a P-256 key sealed the way cosign seals it (scrypt, then
NaCl secretbox over PKCS#8 DER, in go-securesystemslib's JSON), with the password
"hallmark-test". It uses hashlib.scrypt and PyNaCl (libsodium), not Hallmark's code, so the
fixture checks our reader against independent implementations.

Run from this folder in a venv with PyNaCl and cryptography: python3 make_cosign_key.py
"""

import base64
import hashlib
import json
import os
import textwrap

import nacl.secret
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

PASSWORD = b"hallmark-test"
N, R, P = 65536, 8, 1

key = ec.generate_private_key(ec.SECP256R1())
der = key.private_bytes(
    serialization.Encoding.DER,
    serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption(),
)
salt = os.urandom(32)
box_key = hashlib.scrypt(PASSWORD, salt=salt, n=N, r=R, p=P, maxmem=256 * 1024 * 1024, dklen=32)
nonce = os.urandom(24)
sealed = nacl.secret.SecretBox(box_key).encrypt(der, nonce).ciphertext
b64 = lambda data: base64.b64encode(data).decode()
body = json.dumps(
    {
        "kdf": {"name": "scrypt", "params": {"N": N, "r": R, "p": P}, "salt": b64(salt)},
        "cipher": {"name": "nacl/secretbox", "nonce": b64(nonce)},
        "ciphertext": b64(sealed),
    },
    separators=(",", ":"),
).encode()
with open("cosign.key", "w") as out:
    out.write("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    out.write("\n".join(textwrap.wrap(b64(body), 64)) + "\n")
    out.write("-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
with open("cosign.pub", "wb") as out:
    out.write(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
