// Verifies a Sigstore bundle offline with one public key, as `cosign verify --key` with
// --insecure-ignore-tlog would: no transparency log, no timestamp authority.
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity } = require('@sigstore/verify');

const [bundlePath, keyPath, expectedHint] = process.argv.slice(2);
const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
const publicKey = crypto.createPublicKey(fs.readFileSync(keyPath));
const trust = {
  certificateAuthorities: [],
  timestampAuthorities: [],
  tlogs: [],
  ctlogs: [],
  publicKey: (hint) => {
    if (hint !== expectedHint) throw new Error(`unknown key hint ${hint}`);
    return { publicKey, validFor: () => true };
  },
};
const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
verifier.verify(toSignedEntity(bundle));
console.log('verified', bundle.mediaType);
