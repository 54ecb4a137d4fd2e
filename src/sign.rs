//! The FaceID signature: the values (not the keys) sorted, concatenated, SHA-1, upper-case hex.
//! Also the 32-character nonce that goes into it.

use crate::text::push_hex;

/// Signs `values`: sorts them in plain code-unit order, concatenates them without separator and
/// returns the SHA-1 of the UTF-8 bytes as 40 upper-case hex digits. Duplicates are kept.
pub fn sign<S: AsRef<str>>(values: &[S]) -> String {
    let mut sorted: Vec<&str> = Vec::with_capacity(values.len());
    // UTF-16 code-unit order, as Java's String.compareTo (the official samples) and JS's sort.
    // Insertion sort: a signature has a handful of values, and the library sorts weigh kilobytes
    // of .wasm.
    for value in values.iter().map(AsRef::as_ref) {
        let at = sorted.partition_point(|placed| placed.encode_utf16().le(value.encode_utf16()));
        sorted.insert(at, value);
    }
    let mut hasher = sha1_smol::Sha1::new();
    for value in sorted {
        hasher.update(value.as_bytes());
    }
    // Hex by hand: the digest's `Display` would bring `core::fmt` into the .wasm.
    let mut hex = String::with_capacity(40);
    for byte in hasher.digest().bytes() {
        push_hex(&mut hex, byte);
    }
    hex
}

/// What the front end needs to start the FaceID app SDK: the values it passes, and their
/// signature with a NONCE ticket. Field names are the JS result's.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SdkSignature {
    /// The WBappid.
    #[serde(rename = "appId")]
    pub app_id: String,
    /// The user being verified.
    #[serde(rename = "userId")]
    pub user_id: String,
    /// The API version.
    pub version: String,
    /// A fresh 32-character nonce.
    pub nonce: String,
    /// `sign(appId, userId, nonce, version, NONCE ticket)`.
    pub sign: String,
    /// When the NONCE ticket behind it expires (ms since the epoch).
    pub expires_at: f64,
}

impl SdkSignature {
    /// Signs the SDK start parameters with `nonce_ticket`, which is not part of the result: the
    /// front end never sees the ticket.
    pub fn new(
        app_id: &str,
        user_id: &str,
        version: &str,
        nonce: String,
        nonce_ticket: &str,
        expires_at: f64,
    ) -> Self {
        SdkSignature {
            sign: sign(&[app_id, user_id, nonce.as_str(), version, nonce_ticket]),
            app_id: app_id.to_owned(),
            user_id: user_id.to_owned(),
            version: version.to_owned(),
            nonce,
            expires_at,
        }
    }
}

/// Length of a nonce.
pub const NONCE_LEN: usize = 32;
const NONCE_ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A nonce of [`NONCE_LEN`] letters and digits drawn from `fill_random`, which must fill its
/// buffer from a cryptographic source. Bytes at or above 248 (= 4 × 62) are redrawn, so every
/// character is equally likely.
pub fn nonce_from<E>(mut fill_random: impl FnMut(&mut [u8]) -> Result<(), E>) -> Result<String, E> {
    let mut nonce = String::with_capacity(NONCE_LEN);
    let mut buffer = [0u8; 48];
    while nonce.len() < NONCE_LEN {
        fill_random(&mut buffer)?;
        for byte in buffer.iter().filter(|byte| **byte < 248) {
            if let Some(letter) = NONCE_ALPHABET.get(usize::from(*byte % 62)) {
                nonce.push(char::from(*letter));
            }
            if nonce.len() == NONCE_LEN {
                break;
            }
        }
    }
    Ok(nonce)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    #[test]
    fn documented_vector_sdk_start() {
        assert_eq!(
            sign(&[
                "IDAXXXXX",
                "userID19959248596551",
                "kHoSxvLZGxSoFsjxlbzEoUzh5PAnTU7T",
                "1.0.0",
                "XO99Qfxlti9iTVgHAjwvJdAZKN3nMuUhrsPdPlPVKlcyS50N6tlLnfuFBPIucaMS",
            ]),
            "D7606F1741DDCF90757DA924EDCF152A200AC7F0"
        );
    }

    #[test]
    fn documented_vector_result_query() {
        assert_eq!(
            sign(&[
                "appId001",
                "aabc1457895464",
                "kHoSxvLZGxSoFsjxlbzEoUzh5PAnTU7T",
                "1.0.0",
                "FxlAe3HFtEy73Um0pJNzIUriwtfnS3KRcPXiesd5ulS4XRAIcT0FbfaP52dwZf5S",
            ]),
            "993D057C652D97FD90D5D298F2E5DC4B8D893CBC"
        );
    }

    #[test]
    fn documented_vector_with_a_repeated_value() {
        assert_eq!(
            sign(&[
                "appId001",
                "19959248596551",
                "testName",
                "4300000000000",
                "19959248596551",
                "1.0.0",
                "duSz9ptwyW1Xn7r6gYItxz3feMdJ8Na5x7JZuoxurE7RcI5TdwCE4KT2eEeNNDoe",
            ]),
            "11670F8BD6181CF71FB4656534253A0627D835CF"
        );
    }

    #[test]
    fn sha1_of_known_inputs() {
        // FIPS 180 examples: the empty input and "abc".
        assert_eq!(
            sign::<&str>(&[]),
            "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"
        );
        assert_eq!(
            sign(&["c", "a", "b"]),
            "A9993E364706816ABA3E25717850C26C9CD0D89D"
        );
    }

    #[test]
    fn sorting_is_by_utf16_code_unit() {
        // U+FF21 (one unit, 0xFF21) sorts after U+1F600 (surrogates 0xD83D..) in UTF-16 order,
        // though before it in UTF-8 byte order.
        assert_eq!(
            sign(&["\u{1F600}", "\u{FF21}"]),
            sign(&["\u{FF21}", "\u{1F600}"])
        );
        let expected = sign(&["\u{1F600}\u{FF21}"]);
        assert_eq!(sign(&["\u{FF21}", "\u{1F600}"]), expected);
    }

    #[test]
    fn nonce_is_32_letters_or_digits_and_unbiased_by_rejection() {
        let mut counter = 0u8;
        let nonce = nonce_from(|buffer: &mut [u8]| {
            for byte in buffer.iter_mut() {
                *byte = counter;
                counter = counter.wrapping_add(1);
            }
            Ok::<(), Infallible>(())
        })
        .unwrap();
        assert_eq!(nonce.len(), NONCE_LEN);
        assert!(nonce.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(nonce.starts_with("ABCDEFGH"));

        // Only rejected bytes at first: the nonce comes from the next draw.
        let mut draws = 0;
        let nonce = nonce_from(|buffer: &mut [u8]| {
            draws += 1;
            buffer.fill(if draws == 1 { 250 } else { 61 });
            Ok::<(), Infallible>(())
        })
        .unwrap();
        assert_eq!((draws, nonce), (2, "9".repeat(32)));
    }

    #[test]
    fn sdk_signature_signs_the_documented_values() {
        let signature = SdkSignature::new(
            "IDAXXXXX",
            "userID19959248596551",
            "1.0.0",
            "kHoSxvLZGxSoFsjxlbzEoUzh5PAnTU7T".into(),
            "XO99Qfxlti9iTVgHAjwvJdAZKN3nMuUhrsPdPlPVKlcyS50N6tlLnfuFBPIucaMS",
            42.0,
        );
        assert_eq!(signature.sign, "D7606F1741DDCF90757DA924EDCF152A200AC7F0");
        assert_eq!(signature.expires_at, 42.0);
        let json = serde_json::to_value(&signature).unwrap();
        let mut keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["appId", "expires_at", "nonce", "sign", "userId", "version"]
        );
    }

    #[test]
    fn non_ascii_values_are_hashed_as_utf8() {
        assert_eq!(sign(&["中文"]), "7BE2D2D20C106EEE0836C9BC2B939890A78E8FB3");
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn input_order_never_changes_the_signature(
            values in proptest::collection::vec(".{0,12}", 0..8),
            seed in proptest::prelude::any::<u64>(),
        ) {
            let mut shuffled = values.clone();
            // A deterministic shuffle driven by the generated seed.
            let mut state = seed;
            for i in (1..shuffled.len()).rev() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (state >> 33) as usize % (i + 1));
            }
            proptest::prop_assert_eq!(sign(&values), sign(&shuffled));
        }

        #[test]
        fn duplicates_are_kept(value in "[a-z0-9]{1,10}", other in "[A-Z]{1,10}") {
            proptest::prop_assert_ne!(
                sign(&[value.as_str(), value.as_str(), other.as_str()]),
                sign(&[value.as_str(), other.as_str()])
            );
        }
    }

    #[test]
    fn nonce_passes_on_a_random_source_failure() {
        assert_eq!(nonce_from(|_| Err("no crypto")), Err("no crypto"));
    }
}
