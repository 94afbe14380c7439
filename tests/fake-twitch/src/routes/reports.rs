//! `GET /_reports/<name>.csv`: analytics downloads, no auth, expiring like S3 links.

use crate::http::Reply;
use crate::reports::Download;
use crate::state::State;

const EXPIRED: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
const DENIED: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";

pub(crate) fn download(state: &State, name: &str) -> Reply {
    match state.lock().reports.download(name) {
        Download::Csv(csv) => Reply::with_body(200, "text/csv", csv),
        Download::Expired => Reply::with_body(403, "application/xml", EXPIRED),
        Download::Unknown => Reply::with_body(403, "application/xml", DENIED),
    }
}
