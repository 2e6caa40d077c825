//! Graph algorithms over step indices: topological order (naming a cycle when
//! there is none) and the critical path method.

use std::collections::BTreeSet;

/// Kahn's algorithm over `prerequisites[i]` (the steps `i` waits for); ready
/// steps are taken lowest index first, so the order is stable. On a cycle,
/// returns one cycle as step indices in prerequisite-to-dependent order,
/// starting at its lowest index and repeating it at the end.
pub(super) fn topological_order(prerequisites: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    let successors = successors_of(prerequisites);
    let mut waiting: Vec<usize> = prerequisites.iter().map(Vec::len).collect();
    let mut ready: BTreeSet<usize> = (0..prerequisites.len()).filter(|&i| waiting[i] == 0).collect();
    let mut order = Vec::with_capacity(prerequisites.len());
    while let Some(step) = ready.pop_first() {
        order.push(step);
        for &next in &successors[step] {
            waiting[next] -= 1;
            if waiting[next] == 0 {
                ready.insert(next);
            }
        }
    }
    if order.len() == prerequisites.len() {
        return Ok(order);
    }
    let done: BTreeSet<usize> = order.into_iter().collect();
    Err(find_cycle(prerequisites, &done))
}

/// Every step left out of a topological order waits for another step left
/// out, so walking such prerequisites from one of them must come back to a
/// step already walked: that loop is a cycle.
fn find_cycle(prerequisites: &[Vec<usize>], done: &BTreeSet<usize>) -> Vec<usize> {
    let Some(mut current) = (0..prerequisites.len()).find(|i| !done.contains(i)) else {
        return Vec::new();
    };
    let mut walk: Vec<usize> = Vec::new();
    loop {
        if let Some(position) = walk.iter().position(|&s| s == current) {
            let mut cycle: Vec<usize> = walk.split_off(position);
            cycle.reverse();
            // Start at the lowest index so the same cycle is always named alike.
            if let Some(lowest) = cycle.iter().enumerate().min_by_key(|(_, s)| **s).map(|(i, _)| i) {
                cycle.rotate_left(lowest);
            }
            if let Some(&first) = cycle.first() {
                cycle.push(first);
            }
            return cycle;
        }
        walk.push(current);
        match prerequisites[current].iter().copied().find(|p| !done.contains(p)) {
            Some(next) => current = next,
            None => return Vec::new(),
        }
    }
}

/// `successors[i]`: the steps that wait for `i`, in index order.
pub(super) fn successors_of(prerequisites: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut successors = vec![Vec::new(); prerequisites.len()];
    for (step, before) in prerequisites.iter().enumerate() {
        for &p in before {
            successors[p].push(step);
        }
    }
    successors
}

/// Earliest and latest start and finish of one step, in minutes from the
/// transaction, by the critical path method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Times {
    pub earliest_start: u64,
    pub earliest_finish: u64,
    pub latest_start: u64,
    pub latest_finish: u64,
}

/// Forward pass (earliest times) in topological `order`, then a backward
/// pass (latest times) against the overall finish.
pub(super) fn schedule(order: &[usize], prerequisites: &[Vec<usize>], durations: &[u64]) -> Vec<Times> {
    let n = prerequisites.len();
    let mut earliest_finish = vec![0u64; n];
    let mut earliest_start = vec![0u64; n];
    for &step in order {
        let start = prerequisites[step].iter().map(|&p| earliest_finish[p]).max().unwrap_or(0);
        earliest_start[step] = start;
        earliest_finish[step] = start + durations[step];
    }
    let finish = earliest_finish.iter().copied().max().unwrap_or(0);
    let successors = successors_of(prerequisites);
    let mut latest_start = vec![finish; n];
    let mut latest_finish = vec![finish; n];
    for &step in order.iter().rev() {
        let end = successors[step].iter().map(|&s| latest_start[s]).min().unwrap_or(finish);
        latest_finish[step] = end;
        latest_start[step] = end - durations[step];
    }
    (0..n)
        .map(|i| Times {
            earliest_start: earliest_start[i],
            earliest_finish: earliest_finish[i],
            latest_start: latest_start[i],
            latest_finish: latest_finish[i],
        })
        .collect()
}

/// Walks back from `end`, each time to the prerequisite that finishes last
/// (the first listed on a tie), and returns the chain from its root to `end`.
/// `finish_of` gives each step's finish on whichever clock is being traced.
pub(super) fn chain_back<T: Ord + Copy>(
    end: usize,
    prerequisites: &[Vec<usize>],
    finish_of: impl Fn(usize) -> T,
) -> Vec<usize> {
    let mut chain = vec![end];
    let mut current = end;
    // A DAG chain has at most n steps; the bound only guards against misuse.
    while chain.len() <= prerequisites.len() {
        let mut latest: Option<(usize, T)> = None;
        for &p in &prerequisites[current] {
            let finish = finish_of(p);
            if latest.is_none_or(|(_, best)| finish > best) {
                latest = Some((p, finish));
            }
        }
        let Some((previous, _)) = latest else { break };
        chain.push(previous);
        current = previous;
    }
    chain.reverse();
    chain
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn order_is_stable_and_respects_prerequisites() {
        // 0 <- 2, 1 <- 2, 2 <- 3
        let prereqs = vec![vec![], vec![], vec![0, 1], vec![2]];
        assert_eq!(topological_order(&prereqs).unwrap(), vec![0, 1, 2, 3]);
        let prereqs = vec![vec![1], vec![], vec![]];
        assert_eq!(topological_order(&prereqs).unwrap(), vec![1, 0, 2]);
    }

    #[test]
    fn a_cycle_is_named_in_dependency_order() {
        // 0 waits for 2, 2 waits for 1, 1 waits for 0: 0 -> 1 -> 2 -> 0.
        let prereqs = vec![vec![2], vec![0], vec![1], vec![]];
        assert_eq!(topological_order(&prereqs).unwrap_err(), vec![0, 1, 2, 0]);
        // A self-loop.
        assert_eq!(topological_order(&[vec![], vec![1]]).unwrap_err(), vec![1, 1]);
        // A step hanging off a cycle is not part of it: 3 waits for 1, 1 <-> 2.
        let prereqs = vec![vec![], vec![2], vec![1], vec![1]];
        assert_eq!(topological_order(&prereqs).unwrap_err(), vec![1, 2, 1]);
    }

    #[test]
    fn schedule_by_hand() {
        // A(3) -> C(2), B(4) -> C; B -> D(1). Finish 6 via B, C.
        let prereqs = vec![vec![], vec![], vec![0, 1], vec![1]];
        let order = topological_order(&prereqs).unwrap();
        let t = schedule(&order, &prereqs, &[3, 4, 2, 1]);
        assert_eq!(t[0], Times { earliest_start: 0, earliest_finish: 3, latest_start: 1, latest_finish: 4 });
        assert_eq!(t[1], Times { earliest_start: 0, earliest_finish: 4, latest_start: 0, latest_finish: 4 });
        assert_eq!(t[2], Times { earliest_start: 4, earliest_finish: 6, latest_start: 4, latest_finish: 6 });
        assert_eq!(t[3], Times { earliest_start: 4, earliest_finish: 5, latest_start: 5, latest_finish: 6 });
        assert_eq!(chain_back(2, &prereqs, |i| t[i].earliest_finish), vec![1, 2]);
    }

    #[test]
    fn chain_prefers_the_first_listed_on_a_tie() {
        let prereqs = vec![vec![], vec![], vec![1, 0]];
        assert_eq!(chain_back(2, &prereqs, |_| 5u64), vec![1, 2]);
    }

    proptest::proptest! {
        /// Either answer certifies itself: an order puts every step after its
        /// prerequisites, a cycle follows real prerequisite edges back to its start.
        #[test]
        fn order_or_cycle(edges in proptest::collection::vec(proptest::collection::vec(proptest::bool::weighted(0.3), 6), 1..=6)) {
            let n = edges.len();
            let prereqs: Vec<Vec<usize>> = (0..n).map(|i| (0..n).filter(|&j| edges[i][j]).collect()).collect();
            match topological_order(&prereqs) {
                Ok(order) => {
                    proptest::prop_assert_eq!(order.len(), n);
                    let position = |s: usize| order.iter().position(|&x| x == s).unwrap();
                    for (step, before) in prereqs.iter().enumerate() {
                        for &p in before {
                            proptest::prop_assert!(position(p) < position(step));
                        }
                    }
                }
                Err(cycle) => {
                    proptest::prop_assert!(cycle.len() >= 2);
                    proptest::prop_assert_eq!(cycle.first(), cycle.last());
                    for pair in cycle.windows(2) {
                        proptest::prop_assert!(prereqs[pair[1]].contains(&pair[0]), "{:?}", cycle);
                    }
                }
            }
        }
    }
}
