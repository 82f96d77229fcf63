//! `Runs-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>`, and new secrets.

use alloy::primitives::hex;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The prefix of every signing secret (so one is recognisable in a config file or a leak scan).
pub const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret: [`SECRET_PREFIX`] and 32 random bytes in hex. The HMAC key is the whole
/// string's bytes, so a receiver uses it as it was printed.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", hex::encode(bytes))
}

/// The `Runs-Signature` header value of a delivery sent at `timestamp` (unix seconds).
pub fn signature(secret: &str, timestamp: u64, body: &[u8]) -> String {
    // HMAC accepts a key of any length; `new_from_slice` cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_pythons_hmac() {
        // python3 -c "import hmac, hashlib;
        //   print(hmac.new(b'k', b'1700000000.{}', hashlib.sha256).hexdigest())"
        assert_eq!(
            signature("k", 1_700_000_000, b"{}"),
            "v1=c6ef4734033cee2367414a0939385eca0397754aa7a59716da7463a9298b5146"
        );
    }

    #[test]
    fn secrets_are_new_each_time_and_prefixed() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert!(a.starts_with(SECRET_PREFIX) && a.len() == SECRET_PREFIX.len() + 64, "{a}");
    }
}
