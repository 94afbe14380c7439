//! Reading the list: the journal's open entitlements re-read first, then passes over the
//! CLAIMED list (through `EntitlementPages`, the home of the paging rules) until one finds
//! nothing new.

use super::*;

impl Engine {
    pub(super) fn on_loaded(&mut self, records: Vec<JournalRecord>) {
        let recovery = Recovery::from_records(&records);
        if !recovery.is_empty() {
            self.session.note(&Note::Recovered {
                granted: recovery.granted.len(),
                in_doubt: recovery.in_doubt.len(),
            });
        }
        let open = recovery
            .granted
            .into_iter()
            .map(|e| (e, true))
            .chain(recovery.in_doubt.into_iter().map(|e| (e, false)))
            .collect::<Vec<_>>();
        let recovering: HashSet<&str> = open.iter().map(|(e, _)| e.id.as_str()).collect();
        let pushed: Vec<Entitlement> = std::mem::take(&mut self.pushed)
            .into_iter()
            .filter(|e| !recovering.contains(e.id.as_str()))
            .filter(|e| self.take_up(e))
            .collect();
        self.queue_grants(pushed, false);
        for chunk in open.chunks(MAX_IDS_PER_REQUEST) {
            self.checks.push_back(chunk.to_vec());
        }
    }
    /// Asks for the next page of the list: of the pass under way, or of a new pass from the
    /// top (at most [`MAX_PASSES`]).
    pub(super) fn read_next_page(&mut self, now_ms: u64) -> Next {
        let (pages, read, fresh) = match std::mem::replace(&mut self.listing, Listing::Finished) {
            Listing::Paging { pages, read, fresh } => (pages, read, fresh),
            _ if self.passes >= MAX_PASSES => {
                self.stop(Error::decode(
                    "entitlements list",
                    format!(
                        "every one of {MAX_PASSES} passes over the CLAIMED list found \
                         entitlements the one before had not: the list never settled"
                    ),
                ));
                return Next::Again;
            }
            _ => match EntitlementPages::new(self.query.clone()) {
                Ok(pages) => {
                    self.passes += 1;
                    self.session.note(&Note::PassStarted { pass: self.passes });
                    (pages, 0, false)
                }
                Err(e) => {
                    self.stop(e);
                    return Next::Again;
                }
            },
        };
        let request = pages.next_request(&self.config);
        self.listing = Listing::Paging { pages, read, fresh };
        match request {
            Ok(Some(op)) => {
                let op = self.session.authorized(op);
                self.launch(op, Flight::Listing, now_ms)
            }
            Ok(None) => {
                self.listing = Listing::Finished;
                Next::Again
            }
            Err(e) => {
                self.stop(e);
                Next::Again
            }
        }
    }
    /// Re-read entitlements an interrupted run left open.
    pub(super) fn on_checked(&mut self, page: EntitlementsPage, batch: Vec<(Entitlement, bool)>) {
        let status: HashMap<&str, FulfillmentStatus> = page
            .entitlements
            .iter()
            .map(|e| (e.id.as_str(), e.fulfillment_status))
            .collect();
        let mut mark = Vec::new();
        let mut regrant = Vec::new();
        for (entitlement, granted) in batch {
            if !self.take_up(&entitlement) {
                continue;
            }
            match status.get(entitlement.id.as_str()) {
                Some(FulfillmentStatus::Fulfilled) => {
                    self.record_settled(&entitlement.id);
                    self.settle(&entitlement, SettledState::AlreadyFulfilled);
                }
                Some(FulfillmentStatus::Claimed) if granted => {
                    mark.push(Granted::from(entitlement))
                }
                Some(FulfillmentStatus::Claimed) => regrant.push(entitlement),
                None => {
                    self.record_settled(&entitlement.id);
                    self.settle(&entitlement, SettledState::Rejected(UpdateStatus::NotFound));
                }
            }
        }
        self.to_mark.extend(mark);
        self.queue_grants(regrant, true);
    }

    pub(super) fn on_page(&mut self, page: EntitlementsPage) {
        // The entitlements move on to be granted; paging needs only the cursor.
        let EntitlementsPage {
            entitlements,
            cursor,
        } = page;
        let page = EntitlementsPage {
            entitlements: Vec::new(),
            cursor,
        };
        // Kept in place (`retain` moves nothing while nothing is dropped).
        let mut fresh = entitlements;
        fresh.retain(|e| e.fulfillment_status == FulfillmentStatus::Claimed && self.take_up(e));
        if let Listing::Paging {
            mut pages,
            read,
            fresh: any_fresh,
        } = std::mem::replace(&mut self.listing, Listing::Finished)
        {
            let (read, any_fresh) = (read + 1, any_fresh || !fresh.is_empty());
            // The pass ends at its last page, or at a cursor seen before in it (the server
            // loops: what lies past that point cannot be reached this way).
            let fault = pages.advance(&page).err();
            self.listing = if !pages.is_finished() {
                Listing::Paging {
                    pages,
                    read,
                    fresh: any_fresh,
                }
            } else if !any_fresh || (read == 1 && fault.is_none()) {
                // A whole pass found nothing new, or one page from the top, with no cursor,
                // was everything still CLAIMED: nothing is left.
                Listing::Finished
            } else {
                // Marking moved the list under the cursor: pass over it again from the top.
                Listing::PassOver
            };
            self.cursor_fault = fault;
        }
        self.queue_grants(fresh, false);
    }
}
