//! `GET /ISAPI/Event/notification/httpHosts`: the terminal's slots.

use super::error::{classify, HttpHostError};
use super::parse::parse_http_hosts;
use super::slot::HttpHost;
use super::HTTP_HOSTS_PATH;
use crate::error::{excerpt, Error};
use crate::isapi::client::IsapiClient;

/// The terminal's listening-host slots, in its order.
pub async fn http_hosts(client: &IsapiClient) -> Result<Vec<HttpHost>, HttpHostError> {
    let body = client.get(HTTP_HOSTS_PATH).await.map_err(classify)?;
    parse_http_hosts(&body).map_err(|what| {
        classify(Error::Protocol {
            device: client.device().to_owned(),
            path: HTTP_HOSTS_PATH.to_owned(),
            what: format!("unreadable HttpHostNotificationList: {what}"),
            excerpt: excerpt(&body),
        })
    })
}
