// FNV-1a and the fingerprint of a classifier configuration and its
// training data. Self-contained: build.rs includes this file too, to
// fingerprint the embedded configuration and training data once at build
// time instead of at every start (875 KB hashed, and kept in memory).

/// Bump when feature extraction, cleaning, the speller or training change in
/// a way that changes the trained model (the fingerprint of a saved model
/// includes it).
pub const MODEL_FORMAT: u32 = 2;

/// FNV-1a over a tag byte and some byte slices.
pub fn fnv(tag: u8, parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    eat(tag);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            eat(b' ');
        }
        for &b in *p {
            eat(b);
        }
    }
    h
}

/// The fingerprint of a configuration and its training data, as saved with
/// a trained model.
pub fn fingerprint(config: &str, training: &str) -> u64 {
    fnv(b'm', &[&MODEL_FORMAT.to_le_bytes(), config.as_bytes(), training.as_bytes()])
}
