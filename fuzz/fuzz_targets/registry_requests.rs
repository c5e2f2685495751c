//! What a client sends the registry is untrusted: any bytes read as the start of a connection
//! by the blob GET path, as a request path by the router's route parser, or as `If-Match` and
//! `If-None-Match` field lines give an answer or an error, never a panic, and a head the blob
//! GET path takes lies inside the bytes read.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((head_len, _keep_alive)) = registry::read_blob_get_head(data) {
        assert!(head_len <= data.len());
        assert!(data[..head_len].ends_with(b"\n"));
    }
    let text = String::from_utf8_lossy(data);
    let _ = registry::Route::parse(&text);
    // Each line is a field line; an odd first byte makes it `If-Match`, an even one
    // `If-None-Match`.
    let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let field = |odd: bool| {
        lines
            .iter()
            .filter(move |l| l.first().is_some_and(|b| (b % 2 == 1) == odd))
            .map(|l| &l[1..])
    };
    if let Some(conditions) = registry::Preconditions::from_fields(field(true), field(false)) {
        let digest = oci::Digest::of(oci::DigestAlgorithm::Sha256, data);
        let _ = (conditions.hold(None), conditions.hold(Some(&digest)));
    }
});
