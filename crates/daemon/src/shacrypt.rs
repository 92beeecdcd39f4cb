//! SHA-512 (FIPS 180-4) and the SHA-512 based Unix crypt (`$6$...`, as made by
//! `openssl passwd -6` and glibc's `crypt`), used to check the passwords of basic identities.
//! Written from the public specifications; no secrets are kept beyond the call.

const K: [u64; 80] = [
    0x428a2f98d728ae22,
    0x7137449123ef65cd,
    0xb5c0fbcfec4d3b2f,
    0xe9b5dba58189dbbc,
    0x3956c25bf348b538,
    0x59f111f1b605d019,
    0x923f82a4af194f9b,
    0xab1c5ed5da6d8118,
    0xd807aa98a3030242,
    0x12835b0145706fbe,
    0x243185be4ee4b28c,
    0x550c7dc3d5ffb4e2,
    0x72be5d74f27b896f,
    0x80deb1fe3b1696b1,
    0x9bdc06a725c71235,
    0xc19bf174cf692694,
    0xe49b69c19ef14ad2,
    0xefbe4786384f25e3,
    0x0fc19dc68b8cd5b5,
    0x240ca1cc77ac9c65,
    0x2de92c6f592b0275,
    0x4a7484aa6ea6e483,
    0x5cb0a9dcbd41fbd4,
    0x76f988da831153b5,
    0x983e5152ee66dfab,
    0xa831c66d2db43210,
    0xb00327c898fb213f,
    0xbf597fc7beef0ee4,
    0xc6e00bf33da88fc2,
    0xd5a79147930aa725,
    0x06ca6351e003826f,
    0x142929670a0e6e70,
    0x27b70a8546d22ffc,
    0x2e1b21385c26c926,
    0x4d2c6dfc5ac42aed,
    0x53380d139d95b3df,
    0x650a73548baf63de,
    0x766a0abb3c77b2a8,
    0x81c2c92e47edaee6,
    0x92722c851482353b,
    0xa2bfe8a14cf10364,
    0xa81a664bbc423001,
    0xc24b8b70d0f89791,
    0xc76c51a30654be30,
    0xd192e819d6ef5218,
    0xd69906245565a910,
    0xf40e35855771202a,
    0x106aa07032bbd1b8,
    0x19a4c116b8d2d0c8,
    0x1e376c085141ab53,
    0x2748774cdf8eeb99,
    0x34b0bcb5e19b48a8,
    0x391c0cb3c5c95a63,
    0x4ed8aa4ae3418acb,
    0x5b9cca4f7763e373,
    0x682e6ff3d6b2b8a3,
    0x748f82ee5defb2fc,
    0x78a5636f43172f60,
    0x84c87814a1f0ab72,
    0x8cc702081a6439ec,
    0x90befffa23631e28,
    0xa4506cebde82bde9,
    0xbef9a3f7b2c67915,
    0xc67178f2e372532b,
    0xca273eceea26619c,
    0xd186b8c721c0c207,
    0xeada7dd6cde0eb1e,
    0xf57d4f7fee6ed178,
    0x06f067aa72176fba,
    0x0a637dc5a2c898a6,
    0x113f9804bef90dae,
    0x1b710b35131c471b,
    0x28db77f523047d84,
    0x32caab7b40c72493,
    0x3c9ebe0a15c9bebc,
    0x431d67c49c100d4c,
    0x4cc5d4becb3e42b6,
    0x597f299cfc657e2a,
    0x5fcb6fab3ad6faec,
    0x6c44198c4a475817,
];

const H0: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

/// An incremental SHA-512 hasher.
#[derive(Clone)]
pub struct Sha512 {
    h: [u64; 8],
    buf: [u8; 128],
    buf_len: usize,
    total: u128,
}

impl Default for Sha512 {
    fn default() -> Self {
        Sha512 {
            h: H0,
            buf: [0; 128],
            buf_len: 0,
            total: 0,
        }
    }
}

impl Sha512 {
    /// A fresh hasher.
    pub fn new() -> Sha512 {
        Sha512::default()
    }

    /// Feed bytes.
    pub fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u128;
        while !data.is_empty() {
            let take = (128 - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len == 128 {
                let block = self.buf;
                self.compress(&block);
                self.buf_len = 0;
            }
        }
    }

    /// The digest.
    pub fn finish(mut self) -> [u8; 64] {
        let bits = self.total.wrapping_mul(8);
        self.update_raw(&[0x80]);
        while self.buf_len != 112 {
            self.update_raw(&[0]);
        }
        self.update_raw(&bits.to_be_bytes());
        let mut out = [0u8; 64];
        for (i, w) in self.h.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&w.to_be_bytes());
        }
        out
    }

    fn update_raw(&mut self, data: &[u8]) {
        let total = self.total;
        self.update(data);
        self.total = total;
    }

    fn compress(&mut self, block: &[u8; 128]) {
        let mut w = [0u64; 80];
        for (i, chunk) in block.chunks_exact(8).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            w[i] = u64::from_be_bytes(b);
        }
        for i in 16..80 {
            let s0 = w[i - 15].rotate_right(1) ^ w[i - 15].rotate_right(8) ^ (w[i - 15] >> 7);
            let s1 = w[i - 2].rotate_right(19) ^ w[i - 2].rotate_right(61) ^ (w[i - 2] >> 6);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = self.h;
        for i in 0..80 {
            let s1 = e.rotate_right(14) ^ e.rotate_right(18) ^ e.rotate_right(41);
            let ch = (e & f) ^ (!e & g);
            let t1 = h
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(28) ^ a.rotate_right(34) ^ a.rotate_right(39);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            h = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (s, v) in self.h.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *s = s.wrapping_add(v);
        }
    }
}

/// SHA-512 of `data`.
pub fn sha512(data: &[u8]) -> [u8; 64] {
    let mut h = Sha512::new();
    h.update(data);
    h.finish()
}

const ROUNDS_DEFAULT: u64 = 5000;
const ROUNDS_MIN: u64 = 1000;
const ROUNDS_MAX: u64 = 999_999_999;
const B64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` bytes of `digest` repeated.
fn repeat_to(digest: &[u8; 64], len: usize) -> Vec<u8> {
    digest.iter().copied().cycle().take(len).collect()
}

/// SHA-512 crypt of `password` with the settings of `setting` (`$6$[rounds=N$]salt[$...]`).
/// `None` if `setting` is not a `$6$` string.
pub fn crypt(password: &[u8], setting: &str) -> Option<String> {
    let rest = setting.strip_prefix("$6$")?;
    let (rounds, custom, rest) = match rest.strip_prefix("rounds=") {
        Some(r) => {
            let (n, after) = r.split_once('$')?;
            let n: u64 = n.parse().ok()?;
            (n.clamp(ROUNDS_MIN, ROUNDS_MAX), true, after)
        }
        None => (ROUNDS_DEFAULT, false, rest),
    };
    let salt = rest.split('$').next().unwrap_or("");
    let salt = &salt.as_bytes()[..salt.len().min(16)];
    let p = password;

    let mut ctx = Sha512::new();
    ctx.update(p);
    ctx.update(salt);
    ctx.update(p);
    let b = ctx.finish();

    let mut ctx = Sha512::new();
    ctx.update(p);
    ctx.update(salt);
    let mut cnt = p.len();
    while cnt > 64 {
        ctx.update(&b);
        cnt -= 64;
    }
    ctx.update(&b[..cnt]);
    let mut cnt = p.len();
    while cnt > 0 {
        if cnt & 1 == 1 {
            ctx.update(&b);
        } else {
            ctx.update(p);
        }
        cnt >>= 1;
    }
    let mut a = ctx.finish();

    let mut ctx = Sha512::new();
    for _ in 0..p.len() {
        ctx.update(p);
    }
    let p_seq = repeat_to(&ctx.finish(), p.len());

    let mut ctx = Sha512::new();
    for _ in 0..16 + usize::from(a[0]) {
        ctx.update(salt);
    }
    let s_seq = repeat_to(&ctx.finish(), salt.len());

    for i in 0..rounds {
        let mut ctx = Sha512::new();
        if i & 1 == 1 {
            ctx.update(&p_seq);
        } else {
            ctx.update(&a);
        }
        if i % 3 != 0 {
            ctx.update(&s_seq);
        }
        if i % 7 != 0 {
            ctx.update(&p_seq);
        }
        if i & 1 == 1 {
            ctx.update(&a);
        } else {
            ctx.update(&p_seq);
        }
        a = ctx.finish();
    }

    let mut out = String::from("$6$");
    if custom {
        out.push_str(&format!("rounds={rounds}$"));
    }
    out.push_str(&String::from_utf8_lossy(salt));
    out.push('$');
    const GROUPS: [(usize, usize, usize); 21] = [
        (0, 21, 42),
        (22, 43, 1),
        (44, 2, 23),
        (3, 24, 45),
        (25, 46, 4),
        (47, 5, 26),
        (6, 27, 48),
        (28, 49, 7),
        (50, 8, 29),
        (9, 30, 51),
        (31, 52, 10),
        (53, 11, 32),
        (12, 33, 54),
        (34, 55, 13),
        (56, 14, 35),
        (15, 36, 57),
        (37, 58, 16),
        (59, 17, 38),
        (18, 39, 60),
        (40, 61, 19),
        (62, 20, 41),
    ];
    let mut push = |w: u32, n: usize| {
        let mut w = w;
        for _ in 0..n {
            out.push(char::from(B64[(w & 0x3f) as usize]));
            w >>= 6;
        }
    };
    for (x, y, z) in GROUPS {
        push(
            (u32::from(a[x]) << 16) | (u32::from(a[y]) << 8) | u32::from(a[z]),
            4,
        );
    }
    push(u32::from(a[63]), 2);
    Some(out)
}

/// Whether `password` matches the `$6$` hash (constant-time comparison of the results).
pub fn verify(password: &[u8], hash: &str) -> bool {
    let Some(got) = crypt(password, hash) else {
        return false;
    };
    let (g, h) = (got.as_bytes(), hash.as_bytes());
    if g.len() != h.len() {
        return false;
    }
    g.iter().zip(h).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: &[u8]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha512_vectors() {
        assert_eq!(
            hex(&sha512(b"abc")),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        assert_eq!(
            hex(&sha512(b"")),
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
        );
        // Several blocks, fed in uneven pieces.
        let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let mut h = Sha512::new();
        for c in data.chunks(37) {
            h.update(c);
        }
        assert_eq!(h.finish(), sha512(&data));
    }

    #[test]
    fn crypt_vectors() {
        assert_eq!(
            crypt(b"Hello world!", "$6$saltstring").unwrap(),
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        );
        // The specification's example with a rounds parameter (salt cut to 16 bytes).
        assert_eq!(
            crypt(b"Hello world!", "$6$rounds=10000$saltstringsaltstring").unwrap(),
            "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."
        );
        let golden = "$6$goldensalt$fUbARX.Tx8g7STXAQDwfMcbvDxCzyVO8CNdKFHBi3rSOahAa4nh4fWsGa0tiUBFSgLxAlSojz7MkWg9bSm79R.";
        assert!(verify(b"secret", golden));
        assert!(!verify(b"Secret", golden));
        assert!(!verify(b"secret", "$5$goldensalt$x"));
        assert!(!verify(b"secret", "plain"));
    }
}
