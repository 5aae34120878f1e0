//! Fair queueing of the requests waiting for one host: every flow (a collector) gets a share
//! of the host's rate in proportion to its weight while it has requests waiting, and requests
//! of one flow leave in the order they came (self-clocked fair queueing).
//!
//! A flow that floods the queue (a 20,000-call sweep) therefore delays a light flow (a
//! 30-second lag reading) by at most a few requests, never by the whole sweep.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

/// Virtual time units one request of a weight-1 flow costs.
const COST: u64 = 1 << 20;

struct Entry<T> {
    finish: u64,
    sequence: u64,
    flow: Arc<str>,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.finish, self.sequence) == (other.finish, other.sequence)
    }
}

impl<T> Eq for Entry<T> {}

impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Entry<T> {
    // Reversed: the smallest finish tag (then the oldest) is the heap's top.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.finish, other.sequence).cmp(&(self.finish, self.sequence))
    }
}

/// How busy the host was while a flow waited: at each of its waiting turns, the total weight
/// of the flows waiting. Counters only grow; the difference between two readings describes
/// the time between them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Competition {
    /// Sum over the flow's waiting turns of the weight of every flow waiting then.
    pub weight_sum: u64,
    /// Requests dispatched (to any flow) while the flow had requests waiting.
    pub turns: u64,
}

/// Waiting items of many flows, served in weighted fair order.
pub(super) struct FairQueue<T> {
    heap: BinaryHeap<Entry<T>>,
    last_finish: HashMap<Arc<str>, u64>,
    /// Per flow: items waiting and the flow's weight.
    waiting: HashMap<Arc<str>, (usize, u32)>,
    /// Sum of the weights of the flows with items waiting.
    waiting_weight: u64,
    competition: HashMap<Arc<str>, Competition>,
    virtual_time: u64,
    sequence: u64,
}

impl<T> Default for FairQueue<T> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            last_finish: HashMap::new(),
            waiting: HashMap::new(),
            waiting_weight: 0,
            competition: HashMap::new(),
            virtual_time: 0,
            sequence: 0,
        }
    }
}

impl<T> FairQueue<T> {
    pub(super) fn push(&mut self, flow: &Arc<str>, weight: u32, item: T) {
        let cost = COST / u64::from(weight.max(1));
        let last = self.last_finish.get(flow).copied().unwrap_or(0);
        let finish = last.max(self.virtual_time) + cost;
        self.last_finish.insert(Arc::clone(flow), finish);
        let waiting = self.waiting.entry(Arc::clone(flow)).or_insert((0, weight));
        if waiting.0 == 0 {
            self.waiting_weight += u64::from(weight.max(1));
        }
        waiting.0 += 1;
        self.sequence += 1;
        self.heap.push(Entry {
            finish,
            sequence: self.sequence,
            flow: Arc::clone(flow),
            item,
        });
    }

    pub(super) fn pop(&mut self) -> Option<T> {
        let entry = self.heap.pop()?;
        self.virtual_time = entry.finish;
        for flow in self.waiting.keys() {
            let competition = self.competition.entry(Arc::clone(flow)).or_default();
            competition.weight_sum += self.waiting_weight;
            competition.turns += 1;
        }
        if let Some((count, weight)) = self.waiting.get_mut(&entry.flow) {
            *count -= 1;
            if *count == 0 {
                self.waiting_weight -= u64::from((*weight).max(1));
                self.waiting.remove(&entry.flow);
            }
        }
        if self.heap.is_empty() {
            // Idle flows carry no credit into the next busy period.
            self.last_finish.clear();
        }
        Some(entry.item)
    }

    /// Items of `flow` waiting.
    pub(super) fn waiting(&self, flow: &str) -> usize {
        self.waiting.get(flow).map_or(0, |(count, _)| *count)
    }

    /// The flow's competition counters so far.
    pub(super) fn competition(&self, flow: &str) -> Competition {
        self.competition.get(flow).copied().unwrap_or_default()
    }

    pub(super) fn len(&self) -> usize {
        self.heap.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(name: &str) -> Arc<str> {
        Arc::from(name)
    }

    #[test]
    fn a_light_flow_is_not_starved_by_a_flood() {
        let mut queue = FairQueue::default();
        for i in 0..1000 {
            queue.push(&flow("sweep"), 1, ("sweep", i));
        }
        queue.push(&flow("lag"), 1, ("lag", 0));
        queue.push(&flow("lag"), 1, ("lag", 1));
        let order: Vec<_> = std::iter::from_fn(|| queue.pop()).take(6).collect();
        let lag_positions: Vec<usize> = order
            .iter()
            .enumerate()
            .filter(|(_, (flow, _))| *flow == "lag")
            .map(|(i, _)| i)
            .collect();
        assert_eq!(lag_positions, [1, 3], "{order:?}");
    }

    #[test]
    fn shares_follow_weights_and_flows_stay_fifo() {
        let mut queue = FairQueue::default();
        for i in 0..300 {
            queue.push(&flow("high"), 4, ("high", i));
            queue.push(&flow("low"), 1, ("low", i));
        }
        let first: Vec<_> = std::iter::from_fn(|| queue.pop()).take(250).collect();
        let high = first.iter().filter(|(flow, _)| *flow == "high").count();
        assert_eq!(high, 200, "4:1 weights give 4/5 of the first 250");
        for flow in ["high", "low"] {
            let numbers: Vec<i32> = first
                .iter()
                .filter(|(f, _)| *f == flow)
                .map(|(_, n)| *n)
                .collect();
            assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{flow} in order");
        }
    }

    #[test]
    fn an_idle_flow_gets_no_credit() {
        let mut queue = FairQueue::default();
        queue.push(&flow("a"), 1, 0);
        assert_eq!(queue.pop(), Some(0));
        for i in 1..=3 {
            queue.push(&flow("b"), 1, i);
        }
        queue.push(&flow("a"), 1, 9);
        let order: Vec<_> = std::iter::from_fn(|| queue.pop()).collect();
        assert_eq!(order, [1, 9, 2, 3]);
        assert!(queue.is_empty());
        assert_eq!(queue.len(), 0);
        assert_eq!(queue.waiting("b"), 0);
    }

    #[test]
    fn counts_what_each_flow_has_waiting() {
        let mut queue = FairQueue::default();
        queue.push(&flow("a"), 1, 1);
        queue.push(&flow("a"), 1, 2);
        queue.push(&flow("b"), 1, 3);
        assert_eq!((queue.waiting("a"), queue.waiting("b")), (2, 1));
        queue.pop();
        assert_eq!(queue.waiting("a") + queue.waiting("b"), 2);
        assert_eq!(queue.waiting("c"), 0);
    }

    #[test]
    fn competition_sums_the_weight_waiting_at_each_turn() {
        let mut queue = FairQueue::default();
        queue.push(&flow("lag"), 4, 0);
        queue.push(&flow("lag"), 4, 1);
        queue.push(&flow("sweep"), 1, 2);
        // Three turns: lag waits at the first two (with the sweep), the sweep at all three.
        while queue.pop().is_some() {}
        let lag = queue.competition("lag");
        let sweep = queue.competition("sweep");
        assert_eq!(lag.turns, 2);
        assert_eq!(lag.weight_sum, 5 + 5);
        assert_eq!(sweep.turns, 3);
        assert_eq!(sweep.weight_sum, 5 + 5 + 1, "alone at the last turn");
        assert_eq!(queue.competition("other"), Competition::default());
    }
}
