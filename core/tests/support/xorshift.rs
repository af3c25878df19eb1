//! A tiny deterministic generator for shuffles, noise and mutations in tests: the same stream
//! on every platform and rand version, with no seeding API to track.

/// Marsaglia's xorshift64.
pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform-ish index below `n` (modulo bias is irrelevant here).
    #[allow(dead_code)]
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
