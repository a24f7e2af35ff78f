//! The exact search: Wing & Gong's algorithm as improved by Lowe (WGL), over a doubly
//! linked list of invokes and completions, with the explored configurations remembered in
//! `memo` and the clock polled every few thousand steps.
//!
//! Deliberately left out: the label-based pruning done before searching (`prepare`).

use super::budget::Deadline;
use super::memo::Memo;
use super::prepare::SearchOp;
use super::Decision;

pub(super) fn search_decision(ops: &[SearchOp], deadline: Deadline) -> Decision {
    match search(ops, deadline) {
        Search::Linearizable => Decision::Linearizable,
        Search::Timeout => Decision::Unknown,
        Search::Stuck { before } => {
            Decision::Violation(before.into_iter().map(|i| ops[i].index).collect())
        }
    }
}

enum Search {
    Linearizable,
    Timeout,
    /// No linearization; `before` are the positions of the operations invoked before the
    /// furthest point the search reached (a subset that is still not linearizable).
    Stuck {
        before: Vec<usize>,
    },
}

const NIL: u32 = u32::MAX;

/// How often (in search steps) the clock is read.
const POLL_EVERY: u32 = 1 << 12;

/// The WGL search with memoization of (linearized set, value).
fn search(ops: &[SearchOp], deadline: Deadline) -> Search {
    let n = ops.len();
    if n == 0 {
        return Search::Linearizable;
    }

    // Events in time order; at equal times invokes come first (concurrent, not ordered).
    let mut events: Vec<(u64, bool, u32)> = Vec::with_capacity(2 * n);
    for (i, op) in ops.iter().enumerate() {
        events.push((op.invoke, false, i as u32));
        events.push((op.complete, true, i as u32));
    }
    events.sort_unstable();

    // Node 0 is the head sentinel; node k (1..=2n) is events[k - 1].
    let nodes = events.len() + 1;
    let mut next = vec![NIL; nodes];
    let mut prev = vec![NIL; nodes];
    let mut node_op = vec![0u32; nodes];
    let mut is_return = vec![false; nodes];
    let mut call_node = vec![0u32; n];
    let mut return_node = vec![0u32; n];
    for (k, &(_, ret, op)) in events.iter().enumerate() {
        let node = k + 1;
        node_op[node] = op;
        is_return[node] = ret;
        if ret {
            return_node[op as usize] = node as u32;
        } else {
            call_node[op as usize] = node as u32;
        }
    }
    for node in 0..nodes {
        if node + 1 < nodes {
            next[node] = (node + 1) as u32;
        }
        if node > 0 {
            prev[node] = (node - 1) as u32;
        }
    }

    // Per value id: reads and writes not linearized yet. A value overwritten while reads of
    // it remain and no write of it remains can never be read again: a dead end.
    let values = ops
        .iter()
        .map(|op| op.value as usize + 1)
        .max()
        .unwrap_or(1);
    let mut reads_left = vec![0u32; values];
    let mut writes_left = vec![0u32; values];
    for op in ops {
        if op.write {
            writes_left[op.value as usize] += 1;
        } else {
            reads_left[op.value as usize] += 1;
        }
    }
    // The last invoke node of a read of each value: a dead end depends on those reads, so
    // the frontier (which says what a counterexample may leave out) must cover them.
    let mut last_read_call = vec![0u32; values];
    for (i, op) in ops.iter().enumerate() {
        if !op.write {
            let last = &mut last_read_call[op.value as usize];
            *last = (*last).max(call_node[i]);
        }
    }
    let dead_end = |reads_left: &[u32], writes_left: &[u32], state: u32, op: SearchOp| {
        op.write
            && op.value != state
            && reads_left[state as usize] > 0
            && writes_left[state as usize] == 0
    };

    let words = n.div_ceil(64);
    // The linearized set, followed by the register's value: the memo key.
    let mut config = vec![0u64; words + 1];
    let mut seen = Memo::new(words + 1);
    // (call node, value before it, forced): a forced move has no alternative to try.
    let mut stack: Vec<(u32, u32, bool)> = Vec::new();
    let mut state = 0u32;
    let mut entry = next[0];
    // True when `entry` is the head of a configuration not scanned yet.
    let mut fresh = true;
    let mut frontier = 0u32;
    let mut steps = 0u32;

    loop {
        if next[0] == NIL {
            return Search::Linearizable;
        }
        steps = steps.wrapping_add(1);
        if steps & (POLL_EVERY - 1) == 0 && deadline.passed() {
            return Search::Timeout;
        }

        let mut dominated = false;
        if fresh {
            fresh = false;
            // A pending read of the current value is linearized at once: moving a read
            // earlier, while it is pending and the value is right, never hurts, so if the
            // search fails with it here it fails without it too.
            let mut e = next[0];
            while e != NIL && !is_return[e as usize] {
                let op = ops[node_op[e as usize] as usize];
                if !op.write && op.value == state {
                    break;
                }
                e = next[e as usize];
            }
            if e != NIL && !is_return[e as usize] {
                let op_index = node_op[e as usize] as usize;
                config[op_index / 64] |= 1 << (op_index % 64);
                config[words] = u64::from(state);
                if !seen.insert(&config) {
                    config[op_index / 64] &= !(1 << (op_index % 64));
                    dominated = true;
                } else {
                    stack.push((e, state, true));
                    reads_left[state as usize] -= 1;
                    lift(&mut next, &mut prev, e, return_node[op_index]);
                    fresh = true;
                    continue;
                }
            } else {
                entry = next[0];
            }
        }

        if !dominated {
            if entry != NIL && !is_return[entry as usize] {
                let op_index = node_op[entry as usize] as usize;
                let op = ops[op_index];
                let accepted = if op.write {
                    let dead = dead_end(&reads_left, &writes_left, state, op);
                    if dead {
                        frontier = frontier.max(last_read_call[state as usize] + 1);
                    }
                    !dead
                } else {
                    op.value == state
                };
                if accepted {
                    let new_state = if op.write { op.value } else { state };
                    config[op_index / 64] |= 1 << (op_index % 64);
                    config[words] = u64::from(new_state);
                    if seen.insert(&config) {
                        stack.push((entry, state, false));
                        if op.write {
                            writes_left[op.value as usize] -= 1;
                        } else {
                            reads_left[op.value as usize] -= 1;
                        }
                        state = new_state;
                        lift(&mut next, &mut prev, entry, return_node[op_index]);
                        fresh = true;
                        continue;
                    }
                    config[op_index / 64] &= !(1 << (op_index % 64));
                }
                entry = next[entry as usize];
                continue;
            }
            // An operation completes here that is not linearized yet.
            if entry != NIL {
                frontier = frontier.max(entry);
            }
        }

        // Undo moves back to the last choice that has alternatives left.
        loop {
            let Some((call, before, forced)) = stack.pop() else {
                let limit = if frontier == 0 { NIL } else { frontier };
                let before = (0..n).filter(|&i| call_node[i] < limit).collect();
                return Search::Stuck { before };
            };
            let op_index = node_op[call as usize] as usize;
            let op = ops[op_index];
            if op.write {
                writes_left[op.value as usize] += 1;
            } else {
                reads_left[op.value as usize] += 1;
            }
            state = before;
            config[op_index / 64] &= !(1 << (op_index % 64));
            unlift(&mut next, &mut prev, call, return_node[op_index]);
            if !forced {
                entry = next[call as usize];
                break;
            }
        }
    }
}

/// Removes an operation's invoke and completion nodes from the list.
fn lift(next: &mut [u32], prev: &mut [u32], call: u32, ret: u32) {
    for node in [call, ret] {
        let (p, n) = (prev[node as usize], next[node as usize]);
        next[p as usize] = n;
        if n != NIL {
            prev[n as usize] = p;
        }
    }
}

/// Puts back what [`lift`] removed (in reverse order, so the links are exact).
fn unlift(next: &mut [u32], prev: &mut [u32], call: u32, ret: u32) {
    for node in [ret, call] {
        let (p, n) = (prev[node as usize], next[node as usize]);
        next[p as usize] = node;
        if n != NIL {
            prev[n as usize] = node;
        }
    }
}
