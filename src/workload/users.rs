//! Users and where they live.
//!
//! Users get friendly, stable names (`alice`, `bob`, ... then `alice2`, ...) and a home DC
//! assigned proportionally to the configured home weights by a deterministic sweep (not by
//! dice), so a 30-user, 3-DC experiment always has 10 users per DC.
//!
//! Deliberately left out: social graphs. A user's friends are not individuals; a friend
//! view is a read from another DC, chosen per operation.

use crate::experiment::{DcIdx, Workload};

const NAMES: [&str; 26] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "ken",
    "lena", "mallory", "nina", "oscar", "peggy", "quinn", "rupert", "sybil", "trent", "ursula",
    "victor", "wendy", "xavier", "yara", "zoe",
];

/// The name of user `index`.
pub fn user_name(index: usize) -> String {
    let base = NAMES[index % NAMES.len()];
    match index / NAMES.len() {
        0 => base.to_string(),
        round => format!("{base}{}", round + 1),
    }
}

/// One user of the workload.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub index: usize,
    pub name: String,
    pub home: DcIdx,
    /// Where the phone goes, and when (offset into the measured window, in microseconds).
    pub travel: Option<(DcIdx, u64)>,
}

impl User {
    /// The profile key this user owns.
    pub fn key(&self) -> String {
        format!("profile/{}", self.name)
    }

    /// The DC the phone is in at `t_us`.
    pub fn phone_dc(&self, t_us: u64) -> DcIdx {
        match self.travel {
            Some((to, at)) if t_us >= at => to,
            _ => self.home,
        }
    }
}

/// Builds the users of a workload.
pub fn make_users(w: &Workload) -> Vec<User> {
    // Validation bounds each weight, so the sum is finite; a non-finite one (an experiment
    // built in code) counts every DC alike rather than putting every user in the last DC.
    let sum: f64 = w.home_weights.iter().sum();
    let equal;
    let weights: &[f64] = if sum.is_finite() && sum > 0.0 {
        &w.home_weights
    } else {
        equal = vec![1.0; w.home_weights.len()];
        &equal
    };
    let total: f64 = weights.iter().sum();
    let mut users = Vec::with_capacity(w.users);
    for i in 0..w.users {
        // The user's position in [0, total): pick the DC whose cumulative weight covers it.
        let pos = (i as f64 + 0.5) / w.users as f64 * total;
        let mut acc = 0.0;
        let mut home = w.home_weights.len().saturating_sub(1);
        for (dc, weight) in weights.iter().enumerate() {
            acc += weight;
            if pos < acc {
                home = dc;
                break;
            }
        }
        let travel = w
            .travel
            .as_ref()
            .filter(|t| i < t.users)
            .map(|t| (t.to, t.at.as_micros() as u64));
        users.push(User {
            index: i,
            name: user_name(i),
            home,
            travel,
        });
    }
    users
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let names: std::collections::HashSet<_> = (0..100).map(user_name).collect();
        assert_eq!(names.len(), 100);
        assert_eq!(user_name(0), "alice");
        assert_eq!(user_name(26), "alice2");
    }
}
