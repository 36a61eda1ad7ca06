//! Seed derivation, so every random stream (per device, per purpose) is reproducible.

/// Derives an independent 64-bit seed from the fleet seed, a device index and a purpose tag
/// (splitmix64 finaliser over the combined input).
pub fn mix(seed: u64, device: usize, purpose: u64) -> u64 {
    let mut z = seed
        .wrapping_add((device as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(purpose.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::mix;

    #[test]
    fn streams_differ() {
        assert_ne!(mix(1, 0, 1), mix(1, 1, 1));
        assert_ne!(mix(1, 0, 1), mix(1, 0, 2));
        assert_eq!(mix(5, 3, 9), mix(5, 3, 9));
    }
}
