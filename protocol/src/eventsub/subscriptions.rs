//! `drop.entitlement.grant` subscriptions: the condition, the request that subscribes a
//! webhook, and the pages of the app's subscriptions (to find the one a 409 says exists).

use super::*;

/// Which grants a `drop.entitlement.grant` subscription receives: an organization's, maybe
/// narrowed to one game (`category_id`) or one campaign.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DropGrantCondition {
    pub organization_id: String,
    pub category_id: Option<String>,
    pub campaign_id: Option<String>,
}

impl DropGrantCondition {
    /// Every grant of the organization's campaigns.
    pub fn new(organization_id: impl Into<String>) -> Self {
        DropGrantCondition {
            organization_id: organization_id.into(),
            ..Self::default()
        }
    }

    /// Only this game's grants.
    pub fn category(mut self, category_id: impl Into<String>) -> Self {
        self.category_id = Some(category_id.into());
        self
    }

    /// Only this campaign's grants.
    pub fn campaign(mut self, campaign_id: impl Into<String>) -> Self {
        self.campaign_id = Some(campaign_id.into());
        self
    }

    /// Checks that the organization is given and no optional id is empty.
    pub fn validate(&self) -> Result<(), Error> {
        if self.organization_id.trim().is_empty() {
            return Err(Error::invalid(
                "organization_id",
                "is empty; use the id of the organization that owns the Drops campaigns",
            ));
        }
        non_empty("category_id", &self.category_id)?;
        non_empty("campaign_id", &self.campaign_id)
    }

    fn to_json(&self) -> Value {
        let mut condition = json!({ "organization_id": self.organization_id });
        for (key, value) in [
            ("category_id", &self.category_id),
            ("campaign_id", &self.campaign_id),
        ] {
            if let Some(value) = value {
                condition[key] = Value::from(value.as_str());
            }
        }
        condition
    }
}

/// The operation that subscribes `callback_url` to `drop.entitlement.grant` events
/// (`POST /eventsub/subscriptions`, batched, signed with `secret`), with an app token.
///
/// Twitch then sends a callback verification (answer it with [`respond`]); the returned
/// [`Subscription`] says `webhook_callback_verification_pending` until it has. Checked
/// first: `callback_url` is https (plain http only to loopback, for local fakes), `secret`
/// is 10 to 100 ASCII characters, the condition names an organization, and the credentials
/// can give an app token. A 409 answer (`Error::Http`) means the same subscription exists,
/// possibly from a retried attempt.
pub fn subscription_request(
    config: &Config,
    condition: &DropGrantCondition,
    callback_url: &str,
    secret: &Secret,
) -> Result<SingleRequest<Subscription>, Error> {
    condition.validate()?;
    check_secure_url(callback_url)
        .map_err(|p| Error::invalid("callback", p.describe(callback_url)))?;
    let secret_text = secret.expose();
    if !secret_text.is_ascii() || !SECRET_LEN.contains(&secret_text.len()) {
        return Err(Error::invalid(
            "secret",
            format!(
                "must be {} to {} ASCII characters (it has {})",
                SECRET_LEN.start(),
                SECRET_LEN.end(),
                secret_text.chars().count()
            ),
        ));
    }
    if matches!(
        config.credentials(),
        Credentials::UserToken { .. } | Credentials::None
    ) {
        return Err(Error::invalid(
            "credentials",
            "EventSub webhook subscriptions need an app access token; use the client secret \
             (or an app access token) instead of a user token",
        ));
    }
    let body = json!({
        "type": DROP_GRANT_TYPE,
        "version": DROP_GRANT_VERSION,
        "condition": condition.to_json(),
        "transport": {
            "method": "webhook",
            "callback": callback_url,
            "secret": secret_text,
        },
        "is_batching_enabled": true,
    });
    let exchange = Exchange::new(
        Method::Post,
        join(config.helix_url(), "eventsub/subscriptions", ""),
        helix_auth(config),
        Replay::Safe,
        config.retry_policy(),
    )
    .json(body.to_string().into_bytes());
    Ok(SingleRequest::new(exchange, parse_subscription))
}

#[derive(Deserialize)]
struct SubscriptionsBody {
    data: Vec<Subscription>,
    #[serde(default)]
    pagination: crate::entitlements::Pagination,
}

/// A page of the app's EventSub subscriptions, and the cursor of the next page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SubscriptionsPage {
    pub data: Vec<Subscription>,
    /// `None` on the last page.
    pub cursor: Option<String>,
}

impl SubscriptionsPage {
    /// The `drop.entitlement.grant` subscription of this page to `callback_url` with
    /// `condition`, if there is one: the subscription a 409 to
    /// [`subscription_request`] says exists.
    ///
    /// Conditions match field by field, a field absent, null or empty on either side
    /// counting as not set (Twitch may echo unset fields either way).
    pub fn find(
        &self,
        condition: &DropGrantCondition,
        callback_url: &str,
    ) -> Option<&Subscription> {
        let wanted = condition.to_json();
        let field = |v: &Value, key: &str| -> String {
            v.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        self.data.iter().find(|s| {
            s.subscription_type == DROP_GRANT_TYPE
                && s.transport.callback.as_deref() == Some(callback_url)
                && ["organization_id", "category_id", "campaign_id"]
                    .iter()
                    .all(|key| field(&s.condition, key) == field(&wanted, key))
        })
    }
}

/// The operation that reads a page of the app's `drop.entitlement.grant` subscriptions
/// (`GET /eventsub/subscriptions?type=drop.entitlement.grant`, after `cursor` when given),
/// with an app token: how to find the one a 409 says exists, and its status.
pub fn subscriptions_request(
    config: &Config,
    cursor: Option<&str>,
) -> Result<SingleRequest<SubscriptionsPage>, Error> {
    let mut pairs = vec![("type", DROP_GRANT_TYPE)];
    pairs.extend(
        cursor
            .filter(|c| !c.trim().is_empty())
            .map(|c| ("after", c)),
    );
    let exchange = Exchange::new(
        Method::Get,
        join(
            config.helix_url(),
            "eventsub/subscriptions",
            &encode_pairs(pairs),
        ),
        helix_auth(config),
        Replay::Safe,
        config.retry_policy(),
    );
    Ok(SingleRequest::new(exchange, parse_subscriptions))
}

/// Reads a page of subscriptions (`{"data": [...], "pagination": {"cursor": ...}}`).
pub fn parse_subscriptions(response: &HttpResponse) -> Result<SubscriptionsPage, Error> {
    let body: SubscriptionsBody = response.json("EventSub subscriptions")?;
    Ok(SubscriptionsPage {
        data: body.data,
        cursor: body.pagination.next(),
    })
}

/// Reads the answer to a subscription request (`{"data": [subscription], …}`).
pub fn parse_subscription(response: &HttpResponse) -> Result<Subscription, Error> {
    const CONTEXT: &str = "EventSub subscription";
    let body: SubscriptionsBody = response.json(CONTEXT)?;
    body.data
        .into_iter()
        .next()
        .ok_or_else(|| Error::decode(CONTEXT, "`data` is empty"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_of_subscriptions_finds_ours_by_callback_and_condition() {
        let body = br#"{"data":[
            {"id":"other","status":"enabled","type":"drop.entitlement.grant","version":"1",
             "condition":{"organization_id":"o","category_id":"g"},
             "transport":{"method":"webhook","callback":"https://a.example/elsewhere"}},
            {"id":"ours","status":"enabled","type":"drop.entitlement.grant","version":"1",
             "condition":{"organization_id":"o","category_id":"g","campaign_id":""},
             "transport":{"method":"webhook","callback":"https://a.example/hook"}}],
            "pagination":{"cursor":"next-page"}}"#;
        let page = parse_subscriptions(&HttpResponse::new(200, body.to_vec())).unwrap();
        assert_eq!(page.cursor.as_deref(), Some("next-page"));
        let ours = DropGrantCondition::new("o").category("g");
        assert_eq!(
            page.find(&ours, "https://a.example/hook").unwrap().id,
            "ours"
        );
        assert!(page
            .find(&ours.clone().campaign("c"), "https://a.example/hook")
            .is_none());
        assert!(page
            .find(&DropGrantCondition::new("o"), "https://a.example/hook")
            .is_none());
        let last = br#"{"data":[],"pagination":{}}"#;
        let page = parse_subscriptions(&HttpResponse::new(200, last.to_vec())).unwrap();
        assert_eq!(page.cursor, None);
    }
}
