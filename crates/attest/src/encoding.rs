//! The byte encodings the formats share: standard base64 (with a lenient reader, since DSSE
//! lets producers pick URL-safe or unpadded base64) and lowercase hex.

use base64ct::{Base64, Base64Unpadded, Base64Url, Base64UrlUnpadded, Encoding};

/// Standard, padded base64: what DSSE, cosign and the Sigstore bundle write.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    Base64::encode_string(bytes)
}

/// Base64 in any of the four spellings the DSSE specification tells parsers to accept.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    Base64::decode_vec(text)
        .or_else(|_| Base64Unpadded::decode_vec(text))
        .or_else(|_| Base64Url::decode_vec(text))
        .or_else(|_| Base64UrlUnpadded::decode_vec(text))
        .ok()
}

/// Lowercase hex, as key ids and digests are spelled.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    text
}

/// Serde adapters for byte fields stored as base64 strings.
pub(crate) mod base64_field {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::base64_encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::base64_decode(&text).ok_or_else(|| serde::de::Error::custom("not valid base64"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_base64_spelling_decodes_to_the_same_bytes() {
        let bytes = [0xfb, 0xff, 0x01];
        for text in ["+/8B", "-_8B"] {
            assert_eq!(base64_decode(text).as_deref(), Some(&bytes[..]), "{text}");
        }
        assert_eq!(base64_decode("YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode("YQ").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode("%%"), None);
        assert_eq!(hex(&[0x00, 0xab, 0x7f]), "00ab7f");
    }
}
