//! Fair queueing of the requests waiting for one host: every flow (a collector) gets a share
//! of the host's rate in proportion to its weight while it has requests waiting, and requests
//! of one flow leave in the order they came (self-clocked fair queueing).
//!
//! A flow that floods the queue (a 20,000-call sweep) therefore delays a light flow (a
//! 30-second lag reading) by at most a few requests, never by the whole sweep.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

/// Virtual time units one request of a weight-1 flow costs.
const COST: u64 = 1 << 20;

struct Entry<T> {
    finish: u64,
    sequence: u64,
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

/// Waiting items of many flows, served in weighted fair order.
pub struct FairQueue<T> {
    heap: BinaryHeap<Entry<T>>,
    last_finish: HashMap<&'static str, u64>,
    virtual_time: u64,
    sequence: u64,
}

impl<T> Default for FairQueue<T> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            last_finish: HashMap::new(),
            virtual_time: 0,
            sequence: 0,
        }
    }
}

impl<T> FairQueue<T> {
    pub fn push(&mut self, flow: &'static str, weight: u32, item: T) {
        let cost = COST / u64::from(weight.max(1));
        let last = self.last_finish.get(flow).copied().unwrap_or(0);
        let finish = last.max(self.virtual_time) + cost;
        self.last_finish.insert(flow, finish);
        self.sequence += 1;
        self.heap.push(Entry {
            finish,
            sequence: self.sequence,
            item,
        });
    }

    pub fn pop(&mut self) -> Option<T> {
        let entry = self.heap.pop()?;
        self.virtual_time = entry.finish;
        if self.heap.is_empty() {
            // Idle flows carry no credit into the next busy period.
            self.last_finish.clear();
        }
        Some(entry.item)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_light_flow_is_not_starved_by_a_flood() {
        let mut queue = FairQueue::default();
        for i in 0..1000 {
            queue.push("sweep", 1, ("sweep", i));
        }
        queue.push("lag", 1, ("lag", 0));
        queue.push("lag", 1, ("lag", 1));
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
            queue.push("high", 4, ("high", i));
            queue.push("low", 1, ("low", i));
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
        queue.push("a", 1, 0);
        assert_eq!(queue.pop(), Some(0));
        for i in 1..=3 {
            queue.push("b", 1, i);
        }
        queue.push("a", 1, 9);
        let order: Vec<_> = std::iter::from_fn(|| queue.pop()).collect();
        assert_eq!(order, [1, 9, 2, 3]);
        assert!(queue.is_empty());
        assert_eq!(queue.len(), 0);
    }
}
