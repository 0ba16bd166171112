//! What a reader can bound without solving anything: interval propagation over the
//! facts. Each published count is fixed at its value and each hidden one starts at
//! `0..∞`; every fact then narrows its hidden terms from the others' bounds, round after
//! round. Every bound found this way is one a reader can find, so a zero whose upper
//! bound comes out as zero is a zero any reader knows (a chain such as "this item's
//! count is at most its category's this month, which is published as 0, and the
//! quarter's is the sum of the months'").

use super::model::Universe;

/// Rounds of propagation; bounds that still move after this many are left looser,
/// which only means fewer zeros are taken as known.
const ROUNDS: usize = 12;

/// No upper bound.
const NONE: i64 = i64::MAX / 4;

impl Universe {
    /// The upper bound a reader can put on each entry, given which are `hidden`.
    pub(super) fn upper_bounds(&self, hidden: &[bool]) -> Vec<i64> {
        let mut low: Vec<i64> = Vec::with_capacity(hidden.len());
        let mut high: Vec<i64> = Vec::with_capacity(hidden.len());
        for (entry, is_hidden) in hidden.iter().enumerate() {
            let value = self.values[entry];
            if *is_hidden {
                low.push(0);
                high.push(NONE);
            } else {
                low.push(value);
                high.push(value);
            }
        }
        for _ in 0..ROUNDS {
            let mut moved = false;
            for constraint in &self.constraints {
                if !constraint.terms.iter().any(|(e, _)| hidden[*e as usize]) {
                    continue;
                }
                // Σ c·x + k ≥ 0 (and ≤ 0 too for an equality): the largest and smallest
                // the left side can be.
                let (mut most, mut least) = (constraint.constant, constraint.constant);
                for &(entry, c) in &constraint.terms {
                    let (l, h) = (low[entry as usize], high[entry as usize]);
                    if c > 0 {
                        most = most.saturating_add(if h >= NONE { NONE } else { c * h });
                        least += c * l;
                    } else {
                        most += c * l;
                        least = least.saturating_add(if h >= NONE { -NONE } else { c * h });
                    }
                }
                for &(entry, c) in &constraint.terms {
                    let e = entry as usize;
                    if !hidden[e] {
                        continue;
                    }
                    let (l, h) = (low[e], high[e]);
                    // The rest of the left side, at its largest and smallest.
                    let own_most = if c > 0 {
                        if h >= NONE { NONE } else { c * h }
                    } else {
                        c * l
                    };
                    let own_least = if c > 0 {
                        c * l
                    } else if h >= NONE {
                        -NONE
                    } else {
                        c * h
                    };
                    let rest_most = if most >= NONE / 2 || own_most >= NONE / 2 {
                        NONE
                    } else {
                        most - own_most
                    };
                    let rest_least = if least <= -NONE / 2 || own_least <= -NONE / 2 {
                        -NONE
                    } else {
                        least - own_least
                    };
                    // c·x ≥ -rest_most (from ≥ 0); c·x ≤ -rest_least (from ≤ 0).
                    if c < 0 && rest_most < NONE {
                        let bound = rest_most.div_euclid(-c);
                        if bound < high[e] {
                            high[e] = bound.max(low[e]);
                            moved = true;
                        }
                    }
                    if constraint.equality && c > 0 && rest_least > -NONE {
                        let bound = (-rest_least).div_euclid(c);
                        if bound < high[e] {
                            high[e] = bound.max(low[e]);
                            moved = true;
                        }
                    }
                }
            }
            if !moved {
                break;
            }
        }
        high
    }
}
