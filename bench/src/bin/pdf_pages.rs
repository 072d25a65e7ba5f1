//! PDF pages extracted per second: a generated report of 50 and of 500 pages, each run
//! repeatedly, through the same `extract` call the worker makes.

use std::time::{Duration, Instant};

use orator_bench::report;
use orator_ingest::{Format, Limits, extract, fixtures};

/// How long each measurement runs.
const BUDGET: Duration = Duration::from_secs(5);

fn main() {
    let limits = Limits::default();

    for pages in [50_usize, 500] {
        let pdf = fixtures::report_pdf(pages);
        let started = Instant::now();
        let mut extracted_pages = 0_u64;
        while started.elapsed() < BUDGET {
            match extract(Format::Pdf, &pdf, &limits) {
                Ok(document) => extracted_pages += document.pages.len() as u64,
                Err(err) => {
                    eprintln!("extraction failed: {}", err.code());
                    return;
                }
            }
        }
        let label = format!("pdf extraction, {pages}-page report ({} KiB)", pdf.len() / 1024);
        report(&label, extracted_pages, started.elapsed(), "pages");
    }
}
