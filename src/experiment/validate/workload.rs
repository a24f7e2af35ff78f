//! `[workload]`: users, rate, write fraction, popularity, DC weights, reader mix and travel.
//!
//! Deliberately left out: generating the schedule (`crate::workload` does that from the
//! validated [`Workload`]).

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::experiment::error::KeyPath;

impl Validator {
    pub(super) fn workload(
        &mut self,
        raw: &RawWorkload,
        names: &Names,
        duration: Option<Duration>,
    ) -> Option<Workload> {
        let path = KeyPath::root().key("workload");
        let mut ok = true;

        if !(1..=MAX_USERS).contains(&raw.users) {
            self.issue(
                &path.key("users"),
                format!("must be between 1 and {MAX_USERS}"),
            );
            ok = false;
        }
        if !(raw.rate.is_finite() && raw.rate > 0.0 && raw.rate <= MAX_RATE) {
            self.issue(
                &path.key("rate"),
                format!("must be greater than 0 and at most {MAX_RATE} (operations per second)"),
            );
            ok = false;
        }
        let rate_ok = raw.rate.is_finite() && raw.rate > 0.0 && raw.rate <= MAX_RATE;
        if let (true, Some(duration)) = (rate_ok, duration) {
            let expected = raw.rate * duration.as_secs_f64();
            if expected > MAX_OPERATIONS {
                self.issue(
                    &path.key("rate"),
                    format!(
                        "rate x duration is {expected:.0} operations; at most {MAX_OPERATIONS:.0} \
                         fit in memory (lower the rate or the duration)"
                    ),
                );
                ok = false;
            } else if expected < 1.0 {
                self.issue(
                    &path.key("rate"),
                    format!(
                        "rate x duration is {expected:.2e} operations; at least 1 is needed \
                         (raise the rate or the duration)"
                    ),
                );
                ok = false;
            }
        }
        if !(0.0..=1.0).contains(&raw.write_fraction) {
            self.issue(&path.key("write_fraction"), "must be between 0 and 1");
            ok = false;
        }

        let popularity = match (
            raw.popularity.unwrap_or(RawPopularity::Uniform),
            raw.zipf_exponent,
        ) {
            (RawPopularity::Uniform, None) => Some(Popularity::Uniform),
            (RawPopularity::Uniform, Some(_)) => {
                self.issue(
                    &path.key("zipf_exponent"),
                    "only applies with popularity = \"zipf\"",
                );
                None
            }
            (RawPopularity::Zipf, exponent) => {
                let exponent = exponent.unwrap_or(DEFAULT_ZIPF_EXPONENT);
                if exponent.is_finite() && exponent > 0.0 && exponent <= MAX_ZIPF_EXPONENT {
                    Some(Popularity::Zipf { exponent })
                } else {
                    self.issue(
                        &path.key("zipf_exponent"),
                        format!("must be greater than 0 and at most {MAX_ZIPF_EXPONENT}"),
                    );
                    None
                }
            }
        };

        let picture_bytes = raw.picture_bytes.unwrap_or(DEFAULT_PICTURE_BYTES);
        if !(1..=MAX_PICTURE_BYTES).contains(&picture_bytes) {
            self.issue(
                &path.key("picture_bytes"),
                format!("must be between 1 and {MAX_PICTURE_BYTES} (1 MiB)"),
            );
            ok = false;
        }
        let timeout = match &raw.timeout {
            Some(t) => self.positive_duration(&path.key("timeout"), t),
            None => Some(DEFAULT_TIMEOUT),
        };

        let home_weights =
            self.dc_weights(&path.key("home_weights"), raw.home_weights.as_ref(), names);
        let friend_weights = self.dc_weights(
            &path.key("friend_weights"),
            raw.friend_weights.as_ref(),
            names,
        );
        let readers = self.readers(&path.key("readers"), raw.readers.as_ref(), names);

        // Friends never live in the user's home DC: every possible home needs another DC
        // where friends can live.
        if let (Some(home), Some(friend), Some(readers)) =
            (&home_weights, &friend_weights, &readers)
        {
            if readers.friend > 0.0 && names.dcs.len() >= 2 {
                for (h, _) in home.iter().enumerate().filter(|(_, w)| **w > 0.0) {
                    let elsewhere = friend.iter().enumerate().any(|(f, w)| f != h && *w > 0.0);
                    if !elsewhere {
                        self.issue(
                            &path.key("friend_weights"),
                            format!(
                                "users living in {} would have no friend DC (every other DC \
                                 has weight 0)",
                                names.dcs[h]
                            ),
                        );
                        ok = false;
                    }
                }
            }
        }

        let travel = match &raw.travel {
            None => Some(None),
            Some(t) => self
                .travel(&path.key("travel"), t, raw.users, names, duration)
                .map(Some),
        };

        ok.then_some(())?;
        Some(Workload {
            users: raw.users,
            rate: raw.rate,
            write_fraction: raw.write_fraction,
            popularity: popularity?,
            picture_bytes,
            timeout: timeout?,
            home_weights: home_weights?,
            readers: readers?,
            friend_weights: friend_weights?,
            travel: travel?,
        })
    }

    /// Per-DC weights indexed by [`DcIdx`]; all equal when absent, 0 for DCs left out.
    pub(super) fn dc_weights(
        &mut self,
        path: &KeyPath,
        raw: Option<&BTreeMap<String, f64>>,
        names: &Names,
    ) -> Option<Vec<f64>> {
        let Some(raw) = raw else {
            return Some(vec![1.0; names.dcs.len()]);
        };
        let mut weights = vec![0.0; names.dcs.len()];
        let mut ok = true;
        for (dc, w) in raw {
            let p = path.key(dc);
            let idx = self.dc_ref(&p, dc, names);
            let w = self.weight(&p, *w);
            match (idx, w) {
                (Some(i), Some(w)) => weights[i] = w,
                _ => ok = false,
            }
        }
        if ok && !weights.iter().any(|w| *w > 0.0) {
            self.issue(path, "at least one weight must be greater than 0");
            ok = false;
        }
        ok.then_some(weights)
    }

    pub(super) fn readers(
        &mut self,
        path: &KeyPath,
        raw: Option<&RawReaders>,
        names: &Names,
    ) -> Option<ReaderMix> {
        let mix = match raw {
            None => DEFAULT_READERS,
            Some(r) => {
                let phone = self.weight(&path.key("phone"), r.phone.unwrap_or(0.0));
                let laptop = self.weight(&path.key("laptop"), r.laptop.unwrap_or(0.0));
                let friend = self.weight(&path.key("friend"), r.friend.unwrap_or(0.0));
                let mix = ReaderMix {
                    phone: phone?,
                    laptop: laptop?,
                    friend: friend?,
                };
                if mix.phone + mix.laptop + mix.friend <= 0.0 {
                    self.issue(
                        path,
                        "at least one of phone, laptop, friend must be greater than 0",
                    );
                    return None;
                }
                mix
            }
        };
        // With no DC at all, `topology.dcs` has its own issue.
        if mix.friend > 0.0 && names.dcs.len() == 1 {
            self.issue(
                &path.key("friend"),
                format!(
                    "friends live in another DC, so friend readers need at least 2 DCs (there \
                     is 1); set workload.readers.friend = 0{}",
                    if raw.is_none() {
                        " (the default is 0.45)"
                    } else {
                        ""
                    }
                ),
            );
            return None;
        }
        Some(mix)
    }

    pub(super) fn travel(
        &mut self,
        path: &KeyPath,
        raw: &RawTravel,
        users: usize,
        names: &Names,
        duration: Option<Duration>,
    ) -> Option<Travel> {
        let mut ok = true;
        if raw.users == 0 || raw.users > users {
            self.issue(
                &path.key("users"),
                format!("must be between 1 and workload.users ({users})"),
            );
            ok = false;
        }
        let to = self.dc_ref(&path.key("to"), &raw.to, names);
        let at = self.duration(&path.key("at"), &raw.at);
        if let (Some(at), Some(duration)) = (at, duration) {
            if at >= duration {
                self.issue(
                    &path.key("at"),
                    format!(
                        "must be less than duration ({})",
                        humantime::format_duration(duration)
                    ),
                );
                ok = false;
            }
        }
        ok.then_some(())?;
        Some(Travel {
            users: raw.users,
            to: to?,
            at: at?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{assert_rejected, Rejected, FULL};

    #[test]
    fn workload_rules() {
        assert_rejected(&[
            Rejected {
                base: FULL,
                find: "friend_weights = { asia = 1.0, us = 1.0 }",
                replace: "friend_weights = { us = 1.0 }",
                want: "workload.friend_weights: users living in us would have no friend DC",
            },
            Rejected {
                base: FULL,
                find: "home_weights = { eu = 2.0, us = 1.0 }",
                replace: "home_weights = { eu = 0.0, mars = 1.0 }",
                want: "workload.home_weights.mars: unknown DC \"mars\" (DCs are asia, eu, us)",
            },
            Rejected {
                base: FULL,
                find: "phone = 0.2\nfriend = 0.8",
                replace: "phone = 0.0",
                want:
                    "workload.readers: at least one of phone, laptop, friend must be greater than 0",
            },
            Rejected {
                base: FULL,
                find: "users = 3",
                replace: "users = 51",
                want: "workload.travel.users: must be between 1 and workload.users (50)",
            },
        ]);
    }
}
