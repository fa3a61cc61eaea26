//! The registry's storage suite on SQLite (see tests/common).

mod common;
use common::Sqlite;

#[tokio::test]
async fn releases_compile_and_verify() {
    common::releases_compile_and_verify(&Sqlite).await;
}

#[tokio::test]
async fn every_silent_edit_is_caught() {
    common::every_silent_edit_is_caught(&Sqlite).await;
}

#[tokio::test]
async fn a_consistent_rewrite_is_caught_by_the_signed_checkpoints() {
    common::a_consistent_rewrite_is_caught_by_the_signed_checkpoints(&Sqlite).await;
}

#[tokio::test]
async fn a_held_checkpoint_proves_the_log_only_grew() {
    common::a_held_checkpoint_proves_the_log_only_grew(&Sqlite).await;
}

#[tokio::test]
async fn backup_and_restore_round_trip_exactly() {
    common::backup_and_restore_round_trip_exactly(&Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_are_serialized() {
    common::concurrent_writers_are_serialized(&Sqlite).await;
}

#[tokio::test]
async fn a_review_runs_from_opening_to_publication() {
    common::a_review_runs_from_opening_to_publication(&Sqlite).await;
}

#[tokio::test]
async fn sessions_are_fresh_and_end() {
    common::sessions_are_fresh_and_end(&Sqlite).await;
}
