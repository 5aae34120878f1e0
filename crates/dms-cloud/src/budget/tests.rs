//! The scheduler as a whole: rates, pauses, fair shares, reloads and the registry of hosts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::*;

fn config(rate: f64, burst: u32, concurrency: usize) -> BudgetConfig {
    BudgetConfig {
        rate_per_second: rate,
        burst,
        concurrency,
    }
}

#[tokio::test(start_paused = true)]
async fn rate_below_one_spaces_requests() {
    let budget = HostBudget::new("h", config(0.5, 1, 4));
    let start = Instant::now();
    drop(budget.acquire(&Flow::other()).await);
    drop(budget.acquire(&Flow::other()).await);
    assert_eq!(Instant::now() - start, Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn pause_delays_acquire() {
    let budget = Budgets::new(BudgetConfig::default()).for_host("H");
    budget.pause_for(Duration::from_secs(3));
    budget.pause_for(Duration::from_secs(1));
    let start = Instant::now();
    drop(budget.acquire(&Flow::other()).await);
    assert_eq!(Instant::now() - start, Duration::from_secs(3));
}

#[test]
fn for_host_shares_state_and_honours_overrides() {
    let special = config(1.0, 1, 1);
    let budgets = Budgets::new(BudgetConfig::default()).with_host("Special.Host", special);
    assert_eq!(budgets.for_host("special.host").config(), special);
    assert_eq!(budgets.for_host("other").config(), BudgetConfig::default());
    let a = budgets.for_host("other");
    let b = budgets.clone().for_host("OTHER");
    assert!(Arc::ptr_eq(&a.inner, &b.inner));
}

/// Sends `count` requests of `flow`, each holding its permit for `hold`; returns when each
/// request got its permit.
fn requests(
    budget: &HostBudget,
    flow: Flow,
    count: usize,
    hold: Duration,
) -> Vec<tokio::task::JoinHandle<Instant>> {
    (0..count)
        .map(|_| {
            let budget = budget.clone();
            let flow = flow.clone();
            tokio::spawn(async move {
                let permit = budget.acquire(&flow).await;
                let at = Instant::now();
                tokio::time::sleep(hold).await;
                drop(permit);
                at
            })
        })
        .collect()
}

async fn times(handles: Vec<tokio::task::JoinHandle<Instant>>) -> Vec<Instant> {
    let mut out = Vec::new();
    for handle in handles {
        if let Ok(at) = handle.await {
            out.push(at);
        }
    }
    out
}

#[tokio::test(start_paused = true)]
async fn a_sweep_does_not_starve_a_light_collector() {
    let budget = HostBudget::new("h", config(10.0, 1, 4));
    let start = Instant::now();
    let sweep = requests(
        &budget,
        Flow::new("sweep", 1),
        200,
        Duration::from_millis(50),
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    let lag = requests(&budget, Flow::new("lag", 4), 10, Duration::from_millis(50));
    let lag = times(lag).await;
    let last_lag = lag.iter().max().copied().unwrap_or(start);
    // 10 lag requests at 4/5 of 10/s take about 1.25 s, not the sweep's remaining 15 s.
    assert!(
        last_lag - start < Duration::from_millis(6500),
        "lag done {:?} after start",
        last_lag - start
    );
    let sweep = times(sweep).await;
    assert_eq!(sweep.len(), 200);
    assert_eq!(
        sweep.iter().max().map(|t| *t - start),
        Some(Duration::from_millis(20_900)),
        "the host's rate was used to the full: 210 requests at 10/s"
    );
}

#[tokio::test(start_paused = true)]
async fn cancelled_waiters_give_their_turn_away() {
    let budget = HostBudget::new("h", config(1.0, 1, 1));
    drop(budget.acquire(&Flow::other()).await);
    let waiter = {
        let budget = budget.clone();
        tokio::spawn(async move { drop(budget.acquire(&Flow::other()).await) })
    };
    tokio::task::yield_now().await;
    waiter.abort();
    let start = Instant::now();
    drop(budget.acquire(&Flow::other()).await);
    assert!(Instant::now() - start <= Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn throttling_cuts_the_rate_once_per_burst_and_reconfigure_keeps_it() {
    let budgets = Budgets::new(config(100.0, 10, 4));
    let budget = budgets.for_host("h");
    assert!(budget.throttled(Some(Duration::from_secs(1))));
    assert!(
        !budget.throttled(Some(Duration::from_secs(1))),
        "same burst"
    );
    assert_eq!(budget.status().effective_rate, 70.0);
    assert!(budget.pause_remaining().is_some());
    // A reload with the same ceiling keeps the learned rate and the pause.
    budgets.reconfigure(config(100.0, 10, 8), HashMap::new());
    let status = budget.status();
    assert_eq!(status.effective_rate, 70.0);
    assert_eq!(status.concurrency, 8);
    assert!(budget.pause_remaining().is_some());
    assert_eq!(budgets.statuses().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn reloads_do_not_refill_the_burst() {
    let budgets = Budgets::new(config(10.0, 10, 100));
    let budget = budgets.for_host("h");
    let start = Instant::now();
    for _ in 0..10 {
        drop(budget.acquire(&Flow::other()).await);
    }
    assert_eq!(Instant::now(), start, "the burst");
    budgets.reconfigure(config(10.0, 10, 100), HashMap::new());
    budgets.reconfigure(config(10.0, 10, 100), HashMap::new());
    drop(budget.acquire(&Flow::other()).await);
    assert_eq!(
        Instant::now() - start,
        Duration::from_millis(100),
        "the burst was spent; two reloads gave no new one"
    );
}

#[tokio::test(start_paused = true)]
async fn shares_follow_what_waited_alongside() {
    let budget = HostBudget::new("h", config(10.0, 1, 4));
    let high = Flow::new("high", 4);
    let low = Flow::new("low", 1);
    let start = budget.competition(&high);
    assert_eq!(
        budget.share(&high, start),
        Some(10.0),
        "never waited: the whole rate"
    );
    let both = [
        requests(&budget, low.clone(), 40, Duration::ZERO),
        requests(&budget, high.clone(), 20, Duration::ZERO),
    ];
    for handles in both {
        times(handles).await;
    }
    let share = budget.share(&high, start).unwrap_or_default();
    assert!(
        (7.5..=8.5).contains(&share),
        "4/5 of 10/s while both waited: {share}"
    );
    let unlimited = HostBudget::new("u", config(0.0, 1, 4));
    assert_eq!(unlimited.share(&high, start), None);
}
