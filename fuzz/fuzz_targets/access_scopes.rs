//! Any bytes given to the token-auth scope parser give scopes or an error, never a panic, and the
//! scopes it accepts print back to text that parses to the same scopes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(scopes) = access::scope::parse_scopes(text.split('&')) {
        let printed = access::scope::format_scopes(&scopes);
        let reparsed =
            access::scope::parse_scopes([printed.as_str()]).expect("printed scopes parse");
        assert_eq!(reparsed, scopes);
    }
});
