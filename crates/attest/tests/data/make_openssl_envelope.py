"""Writes openssl-envelope.json and openssl-envelope.pub: a DSSE envelope over an in-toto
statement, signed by OpenSSL through Python's cryptography, with PAE written out here by hand from the
DSSE specification. It checks that Hallmark reads and verifies envelopes it did not make. The
committed one has a high-S signature (OpenSSL does not normalise S), which verifiers must
accept; rerun until it has one again if you regenerate it.

Run from this folder in a venv with cryptography: python3 make_openssl_envelope.py
"""

import base64
import hashlib
import json

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

key = ec.generate_private_key(ec.SECP256R1())
public = key.public_key()
der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
statement = json.dumps(
    {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "registry.test/library/hello", "digest": {"sha256": hashlib.sha256(b"hello").hexdigest()}}],
        "predicateType": "https://example.com/test/v1",
        "predicate": {"note": "written by Python, spaced its own way"},
    },
    indent=1,
).encode()
payload_type = b"application/vnd.in-toto+json"
pae = b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(statement), statement)
envelope = {
    "payload": base64.b64encode(statement).decode(),
    "payloadType": payload_type.decode(),
    "signatures": [
        {"keyid": hashlib.sha256(der).hexdigest(), "sig": base64.b64encode(key.sign(pae, ec.ECDSA(hashes.SHA256()))).decode()}
    ],
}
with open("openssl-envelope.json", "w") as out:
    json.dump(envelope, out, indent=2)
with open("openssl-envelope.pub", "wb") as out:
    out.write(public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
