//! The registry's storage suite on PostgreSQL. Ignored by `cargo test --workspace`; `.ci/run`
//! starts a throwaway cluster and runs these with `--ignored` and `LODESTONE_TEST_POSTGRES` set.
//! Without that variable they fail (never pass silently).

mod common;
use common::Postgres;

fn pg() -> Postgres {
    let admin_url = std::env::var("LODESTONE_TEST_POSTGRES").expect(
        "LODESTONE_TEST_POSTGRES is not set: these tests need a PostgreSQL server \
         (postgres://user@host:port/postgres); .ci/run starts one",
    );
    Postgres { admin_url }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run by .ci/run with --ignored"]
async fn releases_compile_and_verify() {
    common::releases_compile_and_verify(&pg()).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run by .ci/run with --ignored"]
async fn every_silent_edit_is_caught() {
    common::every_silent_edit_is_caught(&pg()).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run by .ci/run with --ignored"]
async fn a_consistent_rewrite_is_caught_by_the_signed_checkpoints() {
    common::a_consistent_rewrite_is_caught_by_the_signed_checkpoints(&pg()).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run by .ci/run with --ignored"]
async fn a_held_checkpoint_proves_the_log_only_grew() {
    common::a_held_checkpoint_proves_the_log_only_grew(&pg()).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run by .ci/run with --ignored"]
async fn backup_and_restore_round_trip_exactly() {
    common::backup_and_restore_round_trip_exactly(&pg()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run by .ci/run with --ignored"]
async fn concurrent_writers_are_serialized() {
    common::concurrent_writers_are_serialized(&pg()).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run by .ci/run with --ignored"]
async fn a_review_runs_from_opening_to_publication() {
    common::a_review_runs_from_opening_to_publication(&pg()).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run by .ci/run with --ignored"]
async fn sessions_are_fresh_and_end() {
    common::sessions_are_fresh_and_end(&pg()).await;
}
