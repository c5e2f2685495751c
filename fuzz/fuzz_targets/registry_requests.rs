//! What a client sends the registry is untrusted: any bytes read as the start of a connection
//! by the blob GET path, or as a request path by the router's route parser, give an answer or
//! an error, never a panic, and a head the blob GET path takes lies inside the bytes read.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((head_len, _keep_alive)) = registry::read_blob_get_head(data) {
        assert!(head_len <= data.len());
        assert!(data[..head_len].ends_with(b"\n"));
    }
    let text = String::from_utf8_lossy(data);
    let _ = registry::Route::parse(&text);
});
