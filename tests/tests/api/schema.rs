//! Migrations: every `down.sql` exactly undoes its `up.sql`.

use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::MigrationHarness;
use orator_domain::db::MIGRATIONS;
use orator_tests::TestDb;

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = diesel::sql_types::Text)]
    line: String,
}

/// Everything that defines the schema's shape, as sorted lines.
async fn snapshot(conn: &mut AsyncPgConnection, schema: &str) -> Vec<String> {
    let query = format!(
        "SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || \
                is_nullable || ' ' || coalesce(column_default, '') AS line
           FROM information_schema.columns WHERE table_schema = '{schema}'
         UNION ALL
         SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = '{schema}'
         UNION ALL
         SELECT 'constraint ' || conrelid::regclass::text || ' ' || pg_get_constraintdef(c.oid)
           FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
          WHERE n.nspname = '{schema}'
         UNION ALL
         SELECT 'sequence ' || sequence_name FROM information_schema.sequences
          WHERE sequence_schema = '{schema}'
         ORDER BY 1"
    );

    let mut lines: Vec<String> = diesel::sql_query(query)
        .load::<Line>(conn)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.line)
        .filter(|line| !line.contains("__diesel_schema_migrations"))
        .collect();
    lines.sort();
    lines
}

#[tokio::test(flavor = "multi_thread")]
async fn every_down_migration_undoes_its_up_migration() {
    let test_db = TestDb::empty().await;
    let mut harness =
        AsyncMigrationHarness::new(AsyncPgConnection::establish(&test_db.url).await.unwrap());
    let total = harness.pending_migrations(MIGRATIONS).unwrap().len();
    let mut probe = test_db.conn().await;

    for step in 0..total {
        let before = snapshot(&mut probe, &test_db.schema).await;
        let applied = harness.run_next_migration(MIGRATIONS).unwrap().to_string();
        let after_up = snapshot(&mut probe, &test_db.schema).await;
        harness.revert_last_migration(MIGRATIONS).unwrap();
        let after_down = snapshot(&mut probe, &test_db.schema).await;

        assert_ne!(before, after_up, "migration {step} ({applied}) changed nothing");
        assert_eq!(before, after_down, "down.sql of {applied} does not undo its up.sql");
        harness.run_next_migration(MIGRATIONS).unwrap();
    }

    assert!(harness.pending_migrations(MIGRATIONS).unwrap().is_empty());
}
