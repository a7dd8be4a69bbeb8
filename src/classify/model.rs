//! The learned part: multinomial logistic regression over hashed features,
//! its SGD training, and the saved-model file format.

use super::*;

/// A trained model with the speller vocabulary, as saved in
/// [`EMBEDDED_MODEL`]: magic, fingerprint, hash bits, biases, the non-zero
/// weight rows, the vocabulary; little-endian.
pub(super) struct SavedModel {
    pub(super) fingerprint: u64,
    pub(super) hash_bits: u32,
    pub(super) model: Model,
    pub(super) vocab: Vec<String>,
    /// The compound parts ([`words::Parts`]).
    pub(super) parts: Vec<String>,
}

pub(super) const MODEL_MAGIC: &[u8; 8] = b"SDCLFM02";

impl SavedModel {
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = MODEL_MAGIC.to_vec();
        out.extend(self.fingerprint.to_le_bytes());
        out.extend(self.hash_bits.to_le_bytes());
        for b in self.model.bias {
            out.extend(b.to_le_bytes());
        }
        let rows = self.model.nonzero_rows();
        out.extend((rows.len() as u32).to_le_bytes());
        for (f, row) in rows {
            out.extend(f.to_le_bytes());
            for x in row {
                out.extend(x.to_le_bytes());
            }
        }
        for list in [&self.vocab, &self.parts] {
            out.extend((list.len() as u32).to_le_bytes());
            for v in list {
                out.extend((v.len() as u16).to_le_bytes());
                out.extend(v.as_bytes());
            }
        }
        out
    }

    /// `None` for anything but a complete, consistent file. The weights are
    /// read in place from `b` (only an index of the rows is allocated).
    pub(super) fn decode(b: &'static [u8]) -> Option<SavedModel> {
        let mut r = Reader(b);
        if r.take(8)? != MODEL_MAGIC {
            return None;
        }
        let fingerprint = u64::from_le_bytes(r.take(8)?.try_into().ok()?);
        let hash_bits = r.u32()?;
        if !(8..=24).contains(&hash_bits) {
            return None;
        }
        let mut bias = [0.0; N];
        for b in bias.iter_mut() {
            *b = r.f32()?;
        }
        let n_rows = r.u32()? as usize;
        let rows = r.take(n_rows.checked_mul(ROW_BYTES)?)?;
        // Ascending by feature, each below 2^hash_bits: looked up by binary search.
        let mut last: Option<u32> = None;
        for row in rows.chunks_exact(ROW_BYTES) {
            let f = u32::from_le_bytes(row[..4].try_into().ok()?);
            if f >> hash_bits != 0 || last.is_some_and(|l| l >= f) {
                return None;
            }
            last = Some(f);
        }
        let model = Model { bias, weights: Weights::Saved { rows } };
        let mut lists = [Vec::new(), Vec::new()];
        for list in lists.iter_mut() {
            let n = r.u32()? as usize;
            list.reserve(n.min(1 << 20));
            for _ in 0..n {
                let len = u16::from_le_bytes(r.take(2)?.try_into().ok()?) as usize;
                list.push(String::from_utf8(r.take(len)?.to_vec()).ok()?);
            }
        }
        let [vocab, parts] = lists;
        r.0.is_empty().then_some(SavedModel { fingerprint, hash_bits, model, vocab, parts })
    }
}

/// A saved weight row: the feature (u32) and one f32 per category.
pub(super) const ROW_BYTES: usize = 4 + 4 * N;

/// The saved row of feature `f` (rows ascending by feature), if it has one.
fn saved_row(rows: &[u8], f: u32) -> Option<&[u8]> {
    saved_row_from(rows, f, 0).0
}

/// The feature of saved row `i`.
fn feature_at(rows: &[u8], i: usize) -> u32 {
    let r = &rows[i * ROW_BYTES..];
    u32::from_le_bytes([r[0], r[1], r[2], r[3]])
}

/// [`saved_row`] searching only the rows from index `from` on, by galloping
/// (1, 2, 4, … rows ahead, then binary search in the last step): a mail's
/// features come in ascending runs, and the next one is usually near the
/// last one found. Returns the row and where the next search may start.
fn saved_row_from(rows: &[u8], f: u32, from: usize) -> (Option<&[u8]>, usize) {
    let n = rows.len() / ROW_BYTES;
    let (mut lo, mut step) = (from.min(n), 1usize);
    // Invariant: every row below `lo` has a feature below `f`.
    let mut hi = loop {
        let probe = lo + step - 1;
        if probe >= n {
            break n;
        }
        if feature_at(rows, probe) >= f {
            break probe + 1;
        }
        lo = probe + 1;
        step *= 2;
    };
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match feature_at(rows, mid).cmp(&f) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return (Some(&rows[mid * ROW_BYTES..(mid + 1) * ROW_BYTES]), mid),
        }
    }
    (None, lo)
}

/// The f32 weights of a saved row.
fn row_weights(row: &[u8]) -> [f32; N] {
    let mut out = [0.0; N];
    for (o, b) in out.iter_mut().zip(row[4..].chunks_exact(4)) {
        *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    out
}

pub(super) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub(super) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    pub(super) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    pub(super) fn f32(&mut self) -> Option<f32> {
        Some(f32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
}

/// Multinomial logistic regression over hashed features, trained by SGD with
/// L2 regularisation; the rule scores (times `model.rule_offset`) are a fixed
/// offset, the matched rules are also features whose weights are learned.
#[derive(Debug, Clone)]
pub(super) struct Model {
    pub(super) bias: [f32; N],
    pub(super) weights: Weights,
}

#[derive(Debug, Clone)]
pub(super) enum Weights {
    /// `w[feature * N + category]`: a model trained in this process.
    Dense(Vec<f32>),
    /// The non-zero rows of a saved model, read in place from its bytes
    /// (see [`SavedModel`]), ascending by feature: a feature's row is found
    /// by binary search (an index by feature, 2^hash_bits slots, took 1 MB
    /// of memory; a mail looks up a few hundred features).
    Saved { rows: &'static [u8] },
}

impl Model {
    /// The weights of feature `f` per category.
    pub(super) fn row(&self, f: u32) -> [f32; N] {
        let f = f as usize;
        let mut out = [0.0; N];
        match &self.weights {
            Weights::Dense(w) => out.copy_from_slice(&w[f * N..f * N + N]),
            Weights::Saved { rows } => {
                if let Some(row) = saved_row(rows, f as u32) {
                    out = row_weights(row);
                }
            }
        }
        out
    }

    /// The rows of `feats`' features, in their order: [`Model::row`] of
    /// each, but a saved model is searched from where the previous feature
    /// was found while the features ascend (they come in ascending runs).
    pub(super) fn rows(&self, feats: &[(u32, f32, Origin)]) -> Vec<[f32; N]> {
        let Weights::Saved { rows } = &self.weights else {
            return feats.iter().map(|&(f, _, _)| self.row(f)).collect();
        };
        let (mut at, mut last) = (0usize, 0u32);
        feats
            .iter()
            .map(|&(f, _, _)| {
                if f < last {
                    at = 0;
                }
                last = f;
                let (row, next) = saved_row_from(rows, f, at);
                at = next;
                row.map(row_weights).unwrap_or([0.0; N])
            })
            .collect()
    }

    /// The features whose weights are not all zero, ascending.
    pub(super) fn nonzero_rows(&self) -> Vec<(u32, [f32; N])> {
        let features: Vec<u32> = match &self.weights {
            Weights::Dense(w) => (0..(w.len() / N) as u32).collect(),
            Weights::Saved { rows } => {
                rows.chunks_exact(ROW_BYTES).map(|r| u32::from_le_bytes([r[0], r[1], r[2], r[3]])).collect()
            }
        };
        features.into_iter().map(|f| (f, self.row(f))).filter(|(_, r)| r.iter().any(|x| *x != 0.0)).collect()
    }

    /// The scores of `feats` given their rows ([`Model::rows`]).
    pub(super) fn scores_of(&self, feats: &[(u32, f32, Origin)], rows: &[[f32; N]]) -> [f64; N] {
        let mut z = [0.0f64; N];
        for c in 0..N {
            z[c] = self.bias[c] as f64;
        }
        for (&(_, x, _), w) in feats.iter().zip(rows) {
            for c in 0..N {
                z[c] += (x * w[c]) as f64;
            }
        }
        z
    }
}

pub(super) fn train(inner: &Inner, examples: &[Example]) -> Model {
    let cfg = &inner.model_cfg;
    // Prepare: rule offset, features, target per example.
    type Doc = ([f64; N], Vec<(u32, f32)>, usize);
    let docs: Vec<Doc> = examples
        .iter()
        .map(|ex| {
            let (ns, nb) = prepare(inner, &ex.subject, &ex.text);
            let (z, matched) = rule_scores(inner, &format!("{ns}\n{nb}"));
            let (feats, _) = features(inner, &ns, &nb, &matched);
            let mut off = [0.0; N];
            for c in 0..N {
                off[c] = cfg.rule_offset * z[c];
            }
            (off, feats.into_iter().map(|(f, x, _)| (f, x)).collect(), idx(ex.category))
        })
        .collect();
    // A mail of weight N is seen N times per epoch.
    let copies: Vec<usize> =
        examples.iter().enumerate().flat_map(|(i, ex)| std::iter::repeat_n(i, ex.weight.max(1) as usize)).collect();
    let mut bias = [0.0f32; N];
    let mut weights = vec![0.0f32; (1usize << cfg.hash_bits) * N];
    let mut order: Vec<usize> = copies;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let l2 = cfg.l2 as f32;
    for epoch in 0..cfg.epochs {
        // deterministic shuffle (xorshift)
        for i in (1..order.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            order.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        let lr = (cfg.learning_rate / (1.0 + epoch as f64 * 0.2)) as f32;
        for &d in &order {
            let (off, feats, y) = &docs[d];
            let mut z = *off;
            for c in 0..N {
                z[c] += bias[c] as f64;
            }
            for &(f, x) in feats {
                let w = &weights[f as usize * N..f as usize * N + N];
                for c in 0..N {
                    z[c] += (x * w[c]) as f64;
                }
            }
            let p = softmax(&z);
            let mut g = [0.0f32; N];
            for c in 0..N {
                g[c] = (p[c] - if c == *y { 1.0 } else { 0.0 }) as f32;
                bias[c] -= lr * g[c] * 0.1;
            }
            for &(f, x) in feats {
                let w = &mut weights[f as usize * N..f as usize * N + N];
                for c in 0..N {
                    w[c] -= lr * (g[c] * x + l2 * w[c]);
                }
            }
        }
    }
    Model { bias, weights: Weights::Dense(weights) }
}
