"""The oras Python SDK against `hallmark serve` at HOST (argv[1]): push an artifact, push two
more naming it as their subject, and list them through the referrers API. Run from an empty
folder (oras only pushes files under the working folder). The last line printed is JSON with
the digests, for the Rust test to check the server's answer once more."""

import hashlib
import json
import sys

import oras.client
import oras.oci

host = sys.argv[1]
client = oras.client.OrasClient(hostname=host, insecure=True)
repo = f"{host}/oras/app"
manifest_type = "application/vnd.oci.image.manifest.v1+json"


def write(path, text):
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)


write("app.txt", "the artifact others refer to\n")
client.push(target=f"{repo}:v1", files=["app.txt"], quiet=True)

# Subject.from_manifest would hash a re-serialisation; the subject is the bytes the registry holds.
reply = client.do_request(f"http://{host}/v2/oras/app/manifests/v1", headers={"Accept": manifest_type})
assert reply.status_code == 200, reply.text
subject = oras.oci.Subject(
    mediaType=manifest_type,
    digest="sha256:" + hashlib.sha256(reply.content).hexdigest(),
    size=len(reply.content),
)
assert subject.digest == reply.headers["Docker-Content-Digest"], reply.headers

referrers = {}
write("config.json", "{}")
for name, artifact_type, file, content in [
    ("sbom", "application/vnd.example.sbom", "sbom.spdx.json", '{"spdxVersion": "SPDX-2.3"}'),
    ("signature", "application/vnd.example.signature", "signature.sig", "not really signed"),
]:
    write(file, content)
    pushed = client.push(
        target=f"{repo}:{name}",
        files=[file],
        manifest_config=f"config.json:{artifact_type}",
        subject=subject,
        quiet=True,
    )
    assert pushed.headers.get("OCI-Subject") == subject.digest, pushed.headers
    referrers[name] = (pushed.headers["Docker-Content-Digest"], artifact_type)

listing = client.do_request(f"http://{host}/v2/oras/app/referrers/{subject.digest}")
assert listing.status_code == 200, listing.text
assert listing.headers["Content-Type"] == "application/vnd.oci.image.index.v1+json", listing.headers
index = listing.json()
found = {(m["digest"], m.get("artifactType")) for m in index["manifests"]}
assert found == set(referrers.values()), (found, referrers)

print(json.dumps({"subject": subject.digest, "sbom": referrers["sbom"][0]}))
