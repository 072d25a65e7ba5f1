//! Query shapes: lists cost a constant number of statements whatever their length.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel_async::AsyncConnection;
use orator_domain::documents;
use orator_domain::pagination::PageRequest;
use orator_tests::TestApp;

fn counting(counter: Arc<AtomicUsize>) -> impl Instrumentation {
    move |event: InstrumentationEvent<'_>| {
        if matches!(event, InstrumentationEvent::StartQuery { .. }) {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    }
}

async fn statements_to_list(app: &TestApp, documents_owned: usize) -> usize {
    let user = app.user().await;
    for n in 0..documents_owned {
        app.document_row(user.id, &format!("Document {n}")).await;
    }
    let mut conn = app.db.conn().await;
    let counter = Arc::new(AtomicUsize::new(0));
    conn.set_instrumentation(counting(counter.clone()));

    let page = PageRequest { limit: 100, after: None };
    let listed = documents::list_owned(&mut conn, user.id, page).await.unwrap();

    assert_eq!(listed.items.len(), documents_owned);
    counter.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_document_list_costs_the_same_statements_for_any_length() {
    let app = TestApp::new().await;

    let few = statements_to_list(&app, 2).await;
    let many = statements_to_list(&app, 40).await;

    assert_eq!(few, many);
    assert_eq!(many, 1, "counts come from the same statement as the documents");
}
